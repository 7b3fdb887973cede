"""Intake: every entry point (S3 manifest, EventBridge request, HTTP API) turns a raw request into a
job through this one path: validate, derive a deterministic job id, record, start the execution.

A duplicate delivery derives the same job id, finds the record, and starts nothing new.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ValidationError

from .copying import output_location
from .errors import OutputNotAllowedError
from .limits import MAX_ERRORS, DocumentRejectedError, check_document, printable
from .models import JOB_ID_PATTERN, JobRequest
from .settings import Settings
from .store import JobStore

Source = Literal["s3", "eventbridge", "api", "direct"]


class RequestRejectedError(Exception):
    """The request cannot become a job; ``errors`` say why, field by field."""

    def __init__(self, reason: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []

    @classmethod
    def from_document(cls, error: DocumentRejectedError) -> RequestRejectedError:
        return cls(f"invalid job request: {error}", [{"field": error.field, "message": error.message}])


class JobConflictError(Exception):
    """The job id is already used by a different request."""


@dataclass(frozen=True)
class Accepted:
    job_id: str
    execution_arn: str
    created: bool  # False: a duplicate of a job that already exists
    record: dict[str, Any] = field(repr=False)


def derive_job_id(prefix: str, *parts: str) -> str:
    """A stable, valid execution name from the identity of a delivery."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{prefix}-{digest}"


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
        error = "the request must be a JSON object"
        raise RequestRejectedError(error, [{"field": "(request)", "message": error}])
    try:
        check_document(raw)
    except DocumentRejectedError as error:
        raise RequestRejectedError.from_document(error) from None
    try:
        return JobRequest.model_validate(raw, context={"allow_http": settings.allow_local_urls})
    except ValidationError as error:
        details = validation_errors(error)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in details[:3])
        raise RequestRejectedError(f"invalid job request: {summary}", details) from None


def _same_request(record: dict[str, Any], request: JobRequest) -> bool:
    return bool(record.get("request") == request.model_dump(mode="json", exclude_none=True))


def accept(
    raw: Any,
    *,
    source: Source,
    delivery_job_id: str,
    store: JobStore,
    stepfunctions: Any,
    settings: Settings,
    state_machine_arn: str,
) -> Accepted:
    """Validate, record and start. ``delivery_job_id`` is used unless the request names its own."""
    request = parse_request(raw, settings)
    from .webhooks import check_target  # here, not above: webhooks builds on intake

    check_target(request, settings)  # the webhook URL's SSRF check (it resolves the host)
    job_id = request.job_id or delivery_job_id
    try:
        output_location(job_id, request, settings)
    except OutputNotAllowedError as error:
        raise RequestRejectedError(str(error), [{"field": "output", "message": str(error)}]) from None
    if not re.match(JOB_ID_PATTERN, job_id):
        reason = f"job id {printable(job_id)!r} is not valid"
        raise RequestRejectedError(reason, [{"field": "job_id", "message": reason}])
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    deadline = int(time.time()) + settings.job_deadline_seconds
    try:
        record, created = store.create(
            job_id, request, deadline_epoch=deadline, source=source, execution_arn=execution_arn
        )
    except ClientError as error:
        # The limits keep every valid request storable; this is the last guard, not the check.
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        raise RequestRejectedError("the request cannot be stored (DynamoDB refused it)") from None
    if not created and not _same_request(record, request):
        raise JobConflictError(f"job id {job_id} is already used by a different request")
    execution_input = json.dumps({"job_id": job_id}, separators=(",", ":"))
    try:
        answer = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=job_id, input=execution_input
        )
        execution_arn = answer["executionArn"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        # Same name, execution closed: the job ran already; a duplicate starts nothing new.
    return Accepted(job_id=job_id, execution_arn=execution_arn, created=created, record=record)
