"""S3 manifests and EventBridge requests: the two asynchronous entry points, through intake."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError
from pydantic import Field

from . import events
from .intake import Accepted, JobConflictError, RequestRejectedError, Source, accept, derive_job_id
from .limits import MAX_DOCUMENT_BYTES, DocumentRejectedError, parse_document, printable
from .settings import Settings
from .store import JobStore, iso_now

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
        raise RequestRejectedError(reason, [{"field": "(manifest)", "message": reason}])
    body = answer["Body"].read(MAX_MANIFEST_BYTES + 1)
    try:
        return parse_document(body, max_bytes=MAX_MANIFEST_BYTES)
    except DocumentRejectedError as error:
        reason = f"the manifest {error.message}"
        raise RequestRejectedError(reason, [{"field": "(manifest)", "message": reason}]) from None


class Intake:
    """The start function's dependencies, and its two kinds of delivery."""

    def __init__(
        self,
        *,
        store: JobStore,
        s3: Any,
        stepfunctions: Any,
        events_client: Any,
        settings: Settings,
        state_machine_arn: str,
    ) -> None:
        self.store = store
        self.s3 = s3
        self.stepfunctions = stepfunctions
        self.events_client = events_client
        self.settings = settings
        self.state_machine_arn = state_machine_arn

    def _accept(self, raw: Any, source: Source, delivery_job_id: str) -> Accepted:
        return accept(
            raw,
            source=source,
            delivery_job_id=delivery_job_id,
            store=self.store,
            stepfunctions=self.stepfunctions,
            settings=self.settings,
            state_machine_arn=self.state_machine_arn,
        )

    def _reject(self, source: Source, error: Exception, reference: dict[str, Any]) -> Outcome:
        reason = printable(str(error), events.MAX_MESSAGE)
        details = error.errors if isinstance(error, RequestRejectedError) else []
        detail = events.rejected_detail(source, reason, details, reference)
        events.publish(
            self.events_client,
            bus=self.settings.event_bus_name,
            source=self.settings.event_source,
            detail_type=events.REJECTED,
            detail=detail,
        )
        return Outcome(job_id=None, created=False, rejected_reason=reason)

    def from_manifest(self, bucket: str, raw_key: str, version_id: str | None, etag: str | None) -> Outcome:
        key = s3_key_from_event(raw_key)
        reference = {"bucket": bucket, "key": key, "version_id": version_id, "etag": etag}
        delivery_job_id = derive_job_id("s3", bucket, key, version_id or etag or "")
        try:
            raw = _read_manifest(self.s3, bucket, key, version_id)
            accepted = self._accept(raw, "s3", delivery_job_id)
        except (RequestRejectedError, JobConflictError) as error:
            report = {
                "manifest": reference,
                "reason": printable(str(error), events.MAX_MESSAGE),
                "errors": getattr(error, "errors", []),
                "rejected_at": iso_now(),
            }
            self.s3.put_object(
                Bucket=bucket,
                Key=f"{REJECTIONS_PREFIX}{key}",
                ContentType="application/json",
                Body=json.dumps(report, indent=2).encode(),
            )
            return self._reject("s3", error, {**reference, "report_key": f"{REJECTIONS_PREFIX}{key}"})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion"):
                return Outcome(job_id=None, created=False, rejected_reason="the manifest was deleted")
            raise  # transient: Lambda retries the delivery
        return Outcome(job_id=accepted.job_id, created=accepted.created)

    def from_event(self, event_id: str, detail: Any) -> Outcome:
        reference = {"event_id": event_id}
        try:
            accepted = self._accept(detail, "eventbridge", f"eb-{event_id}")
        except (RequestRejectedError, JobConflictError) as error:
            return self._reject("eventbridge", error, reference)
        return Outcome(job_id=accepted.job_id, created=accepted.created)
