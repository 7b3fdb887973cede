"""Requests: every entry point (S3 manifest, EventBridge request, HTTP API, a batch's line) turns a raw
request into a job through this one path: validate, derive a deterministic job id, record, start the
execution.

A duplicate delivery derives the same job id, finds the record, and starts nothing new.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ValidationError

from lipsync_core.jobs.access.outputs import output_location
from lipsync_core.jobs.access.presigning import refused_input
from lipsync_core.jobs.domain.documents import MAX_ERRORS, check_document, check_idempotency_key, printable
from lipsync_core.jobs.domain.errors import (
    DocumentRejectedError,
    JobConflictError,
    OutputNotAllowedError,
    RequestRejectedError,
)
from lipsync_core.jobs.domain.models import JOB_ID_PATTERN, JobRequest
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.settings import Settings

from .context import EntryContext
from .webhooks import check_target

Source = Literal["s3", "eventbridge", "api", "direct"]


@dataclass(frozen=True)
class Accepted:
    job_id: str
    execution_arn: str
    created: bool  # False: a duplicate of a job that already exists
    record: JobRecord = field(repr=False)


def derive_job_id(prefix: str, *parts: str) -> str:
    """A stable, valid execution name from the identity of a delivery."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{prefix}-{digest}"


def api_job_id(idempotency_key: str | None) -> str:
    """The id ``POST /jobs`` derives: from its ``Idempotency-Key`` (checked first), else a fresh one."""
    key = check_idempotency_key(idempotency_key)
    return derive_job_id("api", key) if key is not None else f"api-{uuid.uuid4().hex}"


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as small JSON objects (location and message), without echoing input values."""
    out = []
    for item in error.errors(include_url=False, include_input=False)[:MAX_ERRORS]:
        location = ".".join(
            printable(str(part))
            for part in item.get("loc", ())
            if not str(part).startswith(("function-", "lax-or-strict", "union["))
        )
        message = printable(str(item.get("msg", "")), 300)
        out.append({"field": location or "(request)", "message": message})
    return out


def parse_request(raw: Any, settings: Settings) -> JobRequest:
    """The request as a model, or ``RequestRejectedError`` naming the fields: never anything else,
    whatever ``raw`` holds (every entry point relies on this to reject through the normal path)."""
    if not isinstance(raw, dict):
        raise RequestRejectedError.on_field("(request)", "the request must be a JSON object")
    try:
        check_document(raw)
    except DocumentRejectedError as error:
        raise RequestRejectedError.from_document(error) from None
    try:
        return JobRequest.under_policy(raw, allow_http=settings.allow_local_urls)
    except ValidationError as error:
        details = validation_errors(error)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in details[:3])
        raise RequestRejectedError(f"invalid job request: {summary}", details) from None


def check_inputs(request: JobRequest, settings: Settings) -> None:
    """A rejection for S3 inputs the workflow could not sign (refused here, not after it is queued)."""
    for name, ref in (("video", request.video), ("audio", request.audio)):
        reason = refused_input(name, ref, settings)
        if reason:
            raise RequestRejectedError.on_field(name, reason)


def check_output(job_id: str, request: JobRequest, settings: Settings) -> None:
    """A rejection, before anything is recorded, for an output the workflow could not write."""
    try:
        output_location(job_id, request, settings)
    except OutputNotAllowedError as error:
        raise RequestRejectedError.on_field("output", str(error)) from None


def _same_request(record: JobRecord, request: JobRequest) -> bool:
    stored = record.request.model_dump(mode="json", exclude_none=True)
    return stored == request.model_dump(mode="json", exclude_none=True)


def accept(raw: Any, *, source: Source, delivery_job_id: str, context: EntryContext) -> Accepted:
    """Validate, record and start. ``delivery_job_id`` is used unless the request names its own."""
    settings = context.settings
    request = parse_request(raw, settings)
    check_target(request, settings)  # the webhook URL's SSRF check (it resolves the host)
    job_id = request.job_id or delivery_job_id
    check_inputs(request, settings)
    check_output(job_id, request, settings)
    if not re.match(JOB_ID_PATTERN, job_id):
        raise RequestRejectedError.on_field("job_id", f"job id {printable(job_id)!r} is not valid")
    state_machine_arn = settings.state_machine_arn
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    try:
        record, created = context.store.create(job_id, request, source=source, execution_arn=execution_arn)
    except ClientError as error:
        # The limits keep every valid request storable; this is the last guard, not the check.
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        raise RequestRejectedError("the request cannot be stored (DynamoDB refused it)") from None
    if not created and not _same_request(record, request):
        raise JobConflictError(f"job id {job_id} is already used by a different request")
    execution_input = json.dumps({"job_id": job_id}, separators=(",", ":"))
    try:
        answer = context.stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=job_id, input=execution_input
        )
        execution_arn = answer["executionArn"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        # Same name, execution closed: the job ran already; a duplicate starts nothing new.
    return Accepted(job_id=job_id, execution_arn=execution_arn, created=created, record=record)


def acceptance(accepted: Accepted) -> dict[str, Any]:
    """What ``POST /jobs`` answers."""
    return {
        "job_id": accepted.job_id,
        "status": accepted.record.status,
        "created": accepted.created,
        "links": {"self": f"/jobs/{accepted.job_id}"},
    }
