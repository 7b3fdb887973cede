"""The details of the events the workflow announces (ids and pointers only, never media).

Their JSON Schemas live in ``schemas/events/``; tests validate real details against them. The detail
types are ``contract.DetailType``; ``access.bus`` puts the events.
"""

from __future__ import annotations

from typing import Any

from .contract import DetailType, Status
from .documents import MAX_MESSAGE
from .models import CopiedResult, Cursor
from .records import JobRecord, iso_now

SCHEMA_VERSION = 1


def rejected_detail(
    source: str, reason: str, errors: list[dict[str, Any]], reference: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "status": "REJECTED",
        "source": source,
        "reason": reason[:MAX_MESSAGE],
        "errors": errors,
        "reference": reference,
        "rejected_at": iso_now(),
    }


def cancelled_detail(record: JobRecord) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "job_id": record.job_id,
        "status": Status.CANCELLED,
        "mode": record.mode.value,
        "task_id": record.task_id,
        "created_at": record.created_at,
        "finished_at": iso_now(),
    }


def succeeded_detail(
    record: JobRecord, copied: CopiedResult, cursor: Cursor | None, *, segments: int | None = None
) -> dict[str, Any]:
    """One task's job names its task (``cursor``); a segmented job, how many segments it joined."""
    detail: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "job_id": record.job_id,
        "status": Status.SUCCEEDED,
        "mode": record.mode.value,
    }
    if cursor is not None:
        detail |= {"task_id": cursor.task_id, "attempt": cursor.attempt}
    if segments is not None:
        detail["segments"] = segments
    return detail | {
        "output": {**copied.model_dump(exclude_none=True), "uri": f"s3://{copied.bucket}/{copied.key}"},
        "created_at": record.created_at,
        "finished_at": iso_now(),
    }


def failed_detail(
    job_id: str, failure: dict[str, Any], record: JobRecord | None, cursor: Cursor | None
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "job_id": job_id,
        "status": Status.FAILED,
        "error": failure,
        "finished_at": iso_now(),
    }
    if record is not None:
        detail["mode"] = record.mode.value
        detail["created_at"] = record.created_at
    if cursor is not None and cursor.task_id:
        detail["task_id"] = cursor.task_id
        detail["attempt"] = cursor.attempt
    return {k: v for k, v in detail.items() if v is not None}


def terminal_detail(record: JobRecord) -> tuple[str, dict[str, Any]]:
    """The terminal event of a job from its record alone (when the workflow could not announce it)."""
    if record.status == Status.CANCELLED:
        return DetailType.CANCELLED, cancelled_detail(record)
    cursor = Cursor(
        task_id=record.task_id or "", attempt=max(1, record.attempt), status=record.status, wait_seconds=0
    )
    if record.status == Status.SUCCEEDED and record.output:
        return DetailType.SUCCEEDED, succeeded_detail(record, record.output, cursor)
    failure = record.error or {"name": "UnknownError", "message": "the job failed", "retryable": False}
    return DetailType.FAILED, failed_detail(
        record.job_id, failure, record, cursor if record.attempt else None
    )


def batch_finished_detail(summary: dict[str, Any]) -> dict[str, Any]:
    """A finished batch's summary (``entry.batches.summary``) as its event: pointers and counts only,
    ``GET /batches/{id}`` has the jobs and the invalid lines."""
    bulky = ("line_errors", "jobs")
    return {"version": SCHEMA_VERSION, **{k: v for k, v in summary.items() if k not in bulky}}
