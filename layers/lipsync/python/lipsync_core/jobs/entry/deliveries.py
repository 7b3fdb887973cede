"""Requests delivered asynchronously: manifests uploaded under ``jobs/`` (a ``.json`` request, or a
``.jsonl`` batch) and ``LipSync Job Requested`` events on the bus. Each delivery becomes a job (or a
batch) through ``requests.accept``, or is rejected: a report under ``rejections/`` for a manifest, and
a ``LipSync Job Rejected`` event either way. The start function hands every delivery here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError
from pydantic import Field

from lipsync_core.jobs.access.bus import publish
from lipsync_core.jobs.domain.contract import DetailType
from lipsync_core.jobs.domain.documents import MAX_DOCUMENT_BYTES, MAX_MESSAGE, parse_document, printable
from lipsync_core.jobs.domain.errors import DocumentRejectedError, JobConflictError, RequestRejectedError
from lipsync_core.jobs.domain.events import rejected_detail
from lipsync_core.jobs.domain.records import iso_now

from . import batches
from .context import EntryContext
from .requests import Source, accept, derive_job_id

MAX_MANIFEST_BYTES = MAX_DOCUMENT_BYTES
REJECTIONS_PREFIX = "rejections/"  # outside jobs/: a report never triggers intake again


class RequestEvent(EventBridgeModel):
    """A request event's envelope. The detail is the caller's: intake rejects one that is not a job
    request (not even an object) through the normal path, with a Rejected event, not a parse error."""

    detail: Any = Field(default=None)


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery: accepted (a job id) or rejected (a reason)."""

    job_id: str | None
    created: bool
    rejected_reason: str | None = None


def s3_key_from_event(raw_key: str) -> str:
    """S3 event keys are URL-encoded with spaces as '+'."""
    return unquote_plus(raw_key)


def _read_manifest(s3: Any, bucket: str, key: str, version_id: str | None) -> Any:
    params = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
    answer = s3.get_object(**params)
    if answer["ContentLength"] > MAX_MANIFEST_BYTES:
        reason = f"the manifest is {answer['ContentLength']} bytes; the limit is {MAX_MANIFEST_BYTES}"
        raise RequestRejectedError.on_field("(manifest)", reason)
    body = answer["Body"].read(MAX_MANIFEST_BYTES + 1)
    try:
        return parse_document(body, max_bytes=MAX_MANIFEST_BYTES)
    except DocumentRejectedError as error:
        raise RequestRejectedError.on_field("(manifest)", f"the manifest {error.message}") from None


def _reject(context: EntryContext, source: Source, error: Exception, reference: dict[str, Any]) -> Outcome:
    reason = printable(str(error), MAX_MESSAGE)
    details = error.errors if isinstance(error, RequestRejectedError) else []
    detail = rejected_detail(source, reason, details, reference)
    publish(context.events_client, context.settings, DetailType.REJECTED, detail)
    return Outcome(job_id=None, created=False, rejected_reason=reason)


@dataclass(frozen=True)
class ManifestObject:
    bucket: str
    key: str
    version_id: str | None
    etag: str | None

    @property
    def identity(self) -> str:
        """What tells this upload from another under the same key: its version, else its ETag."""
        return self.version_id or self.etag or ""


def from_object(
    context: EntryContext, bucket: str, raw_key: str, version_id: str | None, etag: str | None
) -> Outcome:
    """An object created under ``jobs/``: a batch (``.jsonl``) or one request. Rejected (whatever the
    kind, however early) with a report under ``rejections/`` and the Rejected event."""
    manifest = ManifestObject(bucket, s3_key_from_event(raw_key), version_id, etag)
    deliver = from_batch_manifest if manifest.key.endswith(".jsonl") else from_manifest
    try:
        return deliver(context, manifest)
    except (RequestRejectedError, JobConflictError) as error:
        return _reject_object(context, manifest, error)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "NoSuchVersion"):
            raise  # transient: Lambda retries the delivery
        gone = RequestRejectedError("the manifest was deleted before it could be read")
        return _reject_object(context, manifest, gone)


def from_manifest(context: EntryContext, manifest: ManifestObject) -> Outcome:
    """A ``jobs/*.json`` manifest: one request."""
    raw = _read_manifest(context.s3, manifest.bucket, manifest.key, manifest.version_id)
    delivery_job_id = derive_job_id("s3", manifest.bucket, manifest.key, manifest.identity)
    accepted = accept(raw, source="s3", delivery_job_id=delivery_job_id, context=context)
    return Outcome(job_id=accepted.job_id, created=accepted.created)


def from_batch_manifest(context: EntryContext, manifest: ManifestObject) -> Outcome:
    """A ``jobs/*.jsonl`` manifest: a batch, one job per valid line (``batches.start_batch``)."""
    batch_id = batches.batch_id_of_object(manifest.bucket, manifest.key, manifest.identity)
    text = batches.read_manifest(context.s3, manifest.bucket, manifest.key, manifest.version_id)
    _, created = batches.start_batch(text, batch_id=batch_id, context=context)
    return Outcome(job_id=batch_id, created=created, rejected_reason=None)


def _reject_object(context: EntryContext, manifest: ManifestObject, error: Exception) -> Outcome:
    """The report beside the manifest (``rejections/<key>``, outside ``jobs/``), then the event."""
    reference = asdict(manifest)
    report_key = f"{REJECTIONS_PREFIX}{manifest.key}"
    report = {
        "manifest": reference,
        "reason": printable(str(error), MAX_MESSAGE),
        "errors": getattr(error, "errors", []),
        "rejected_at": iso_now(),
    }
    context.s3.put_object(
        Bucket=manifest.bucket,
        Key=report_key,
        ContentType="application/json",
        Body=json.dumps(report, indent=2).encode(),
    )
    return _reject(context, "s3", error, {**reference, "report_key": report_key})


def from_event(context: EntryContext, event_id: str, detail: Any) -> Outcome:
    """A ``LipSync Job Requested`` event: its detail is the request."""
    try:
        accepted = accept(detail, source="eventbridge", delivery_job_id=f"eb-{event_id}", context=context)
    except (RequestRejectedError, JobConflictError) as error:
        return _reject(context, "eventbridge", error, {"event_id": event_id})
    return Outcome(job_id=accepted.job_id, created=accepted.created)
