"""What the HTTP API does besides starting jobs: read, list, cancel, and hand out upload URLs."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.volc import Mode, VolcClient

from . import events
from .flow_control import FlowControl
from .limits import check_document, parse_document
from .models import TERMINAL_STATUSES
from .settings import Settings
from .store import LISTED_KIND, JobNotFoundError, JobStore, from_dynamo

logger = logging.getLogger(__name__)
RESULT_URL_SECONDS = 3600
PUBLIC_FIELDS = (
    "job_id",
    "status",
    "mode",
    "source",
    "service_status",
    "progress",
    "polls",
    "attempt",
    "task_id",
    "created_at",
    "updated_at",
    "finished_at",
    "error",
    "output",
    "waiting",  # while QUEUED without capacity: why, how many are ahead, how often it asked
    "history",
)


class JobStateConflictError(Exception):
    """The job cannot do that now (for example: cancel a finished job)."""


class BadPageTokenError(ValueError):
    pass


def public_view(record: dict[str, Any], s3: Any | None = None) -> dict[str, Any]:
    view = {name: record[name] for name in PUBLIC_FIELDS if record.get(name) is not None}
    view["request"] = record.get("request")
    output = record.get("output")
    if s3 is not None and record.get("status") == "SUCCEEDED" and output:
        view["output"] = {
            **output,
            "url": s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": output["bucket"], "Key": output["key"]},
                ExpiresIn=RESULT_URL_SECONDS,
            ),
            "url_expires_in": RESULT_URL_SECONDS,
        }
    return view


def get_job(job_id: str, *, store: JobStore, s3: Any) -> dict[str, Any]:
    return public_view(store.get(job_id), s3)


def _encode_token(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(from_dynamo(key)).encode()).decode() if key else None


# The keys of a page's last item: the table's key plus the index's (by-status, or by-created).
_STATUS_KEYS = frozenset({"job_id", "status", "created_at"})
_CREATED_KEYS = frozenset({"job_id", "kind", "created_at"})


def _decode_token(token: str | None, status: str | None) -> dict[str, Any] | None:
    """A token this API handed out, or ``BadPageTokenError``: DynamoDB must never see another shape."""
    if not token:
        return None
    try:
        value = parse_document(base64.urlsafe_b64decode(token.encode("ascii")), max_bytes=2048)
        check_document(value, max_bytes=2048)
    except (ValueError, binascii.Error):  # DocumentRejectedError and UnicodeError are ValueErrors
        raise BadPageTokenError("next_token is not valid") from None
    if (
        not isinstance(value, dict)
        or set(value) != (_STATUS_KEYS if status else _CREATED_KEYS)
        or (status is None and value["kind"] != LISTED_KIND)
        or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in value.values())
        or (status is not None and value["status"] != status)
    ):
        raise BadPageTokenError("next_token is not valid")
    return value


def list_jobs(*, store: JobStore, status: str | None, limit: int, next_token: str | None) -> dict[str, Any]:
    """Newest first: within a status through the ``by-status`` index, all jobs through ``by-created``."""
    kwargs: dict[str, Any] = {"Limit": limit}
    start = _decode_token(next_token, status)
    if start:
        kwargs["ExclusiveStartKey"] = start
    # Newest first through an index either way: by status, or every job (one constant "kind").
    index, name, value = ("by-status", "status", status) if status else ("by-created", "kind", LISTED_KIND)
    answer = store.table.query(
        IndexName=index,
        KeyConditionExpression="#k = :k",
        ExpressionAttributeNames={"#k": name},
        ExpressionAttributeValues={":k": value},
        ScanIndexForward=False,
        **kwargs,
    )
    jobs = [public_view(from_dynamo(item)) for item in answer.get("Items", [])]
    return {"jobs": jobs, "next_token": _encode_token(answer.get("LastEvaluatedKey"))}


def cancel_job(
    job_id: str,
    *,
    store: JobStore,
    stepfunctions: Any,
    events_client: Any,
    volc: VolcClient | None,
    settings: Settings,
    flow: FlowControl | None = None,
) -> dict[str, Any]:
    """Cancel: the record first (so the workflow cannot finish it afterwards), then the execution,
    then the service's task (best effort), then its capacity slot, then the event."""
    record = store.get(job_id)
    if record["status"] in TERMINAL_STATUSES or not store.finish(job_id, "CANCELLED"):
        raise JobStateConflictError(f"job {job_id} is already {store.get(job_id)['status']}")
    if record.get("execution_arn"):
        try:
            stepfunctions.stop_execution(
                executionArn=record["execution_arn"],
                error="LipSyncJobCancelled",
                cause="cancelled through the API",
            )
        except ClientError as error:  # gone, or already closed: the record is what answers
            code = error.response.get("Error", {}).get("Code")
            logger.warning("the execution was not stopped", extra={"job_id": job_id, "code": code})
    if record.get("task_id") and volc is not None:
        try:
            volc.cancel_task(record["mode"], record["task_id"])
        except Exception as error:  # best effort: the action or task may be unknown, the service away
            logger.warning("CVCancelTask failed", extra={"job_id": job_id, "error": type(error).__name__})
    if flow is not None:  # the reconciler would free it too, on the execution's end
        flow.release_slot(job_id, Mode.parse(record["mode"]))
    record = store.get(job_id)
    events.publish(
        events_client,
        bus=settings.event_bus_name,
        source=settings.event_source,
        detail_type=events.CANCELLED,
        detail=events.cancelled_detail(job_id, record),
    )
    return public_view(record)


UPLOAD_CONTENT_TYPES = {"video": "video/mp4", "audio": "audio/wav"}


def upload_urls(
    *, s3: Any, settings: Settings, video_content_type: str, audio_content_type: str
) -> dict[str, Any]:
    """Presigned PUT URLs for a video and a voice track under ``inputs/<id>/``."""
    batch = uuid.uuid4().hex
    answer: dict[str, Any] = {"expires_in": settings.upload_url_seconds}
    for name, content_type in (("video", video_content_type), ("audio", audio_content_type)):
        key = f"inputs/{batch}/{name}"
        answer[name] = {
            "upload_url": s3.generate_presigned_url(
                "put_object",
                Params={"Bucket": settings.bucket_name, "Key": key, "ContentType": content_type},
                ExpiresIn=settings.upload_url_seconds,
            ),
            "method": "PUT",
            "headers": {"Content-Type": content_type},
            "s3_uri": f"s3://{settings.bucket_name}/{key}",
        }
    return answer


__all__ = [
    "BadPageTokenError",
    "JobNotFoundError",
    "JobStateConflictError",
    "cancel_job",
    "get_job",
    "list_jobs",
    "upload_urls",
]
