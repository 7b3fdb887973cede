"""The details of the events the workflow announces (ids and pointers only, never media).

Their JSON Schemas live in ``schemas/events/``; tests validate real details against them.
"""

from __future__ import annotations

import json
from typing import Any

from .models import CopiedResult, Cursor
from .store import iso_now

SCHEMA_VERSION = 1
SUCCEEDED = "LipSync Job Succeeded"
FAILED = "LipSync Job Failed"
REJECTED = "LipSync Job Rejected"
CANCELLED = "LipSync Job Cancelled"
REQUESTED = "LipSync Job Requested"
MAX_MESSAGE = 1000


def publish(events_client: Any, *, bus: str, source: str, detail_type: str, detail: dict[str, Any]) -> None:
    """Put one event on the bus; raises when EventBridge did not accept it."""
    answer = events_client.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":"), default=str),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the {detail_type} event: {answer['Entries']}")


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


def cancelled_detail(job_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "job_id": job_id,
        "status": "CANCELLED",
        "mode": record.get("mode"),
        "task_id": record.get("task_id"),
        "created_at": record.get("created_at"),
        "finished_at": iso_now(),
    }


def succeeded_detail(
    job_id: str, record: dict[str, Any], copied: CopiedResult, cursor: Cursor
) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "job_id": job_id,
        "status": "SUCCEEDED",
        "mode": record["mode"],
        "task_id": cursor.task_id,
        "attempt": cursor.attempt,
        "output": {**copied.model_dump(exclude_none=True), "uri": f"s3://{copied.bucket}/{copied.key}"},
        "created_at": record["created_at"],
        "finished_at": iso_now(),
    }


def failed_detail(
    job_id: str, failure: dict[str, Any], record: dict[str, Any] | None, cursor: Cursor | None
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "job_id": job_id,
        "status": "FAILED",
        "error": failure,
        "finished_at": iso_now(),
    }
    if record is not None:
        detail["mode"] = record.get("mode")
        detail["created_at"] = record.get("created_at")
    if cursor is not None and cursor.task_id:
        detail["task_id"] = cursor.task_id
        detail["attempt"] = cursor.attempt
    return {k: v for k, v in detail.items() if v is not None}


def terminal_detail(job_id: str, record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The terminal event of a job from its record alone (when the workflow could not announce it)."""
    status = record["status"]
    if status == "CANCELLED":
        return CANCELLED, cancelled_detail(job_id, record)
    attempt = int(record.get("attempt") or 0)
    cursor = Cursor(
        task_id=record.get("task_id") or "", attempt=max(1, attempt), status=status, wait_seconds=0
    )
    if status == "SUCCEEDED" and record.get("output"):
        copied = CopiedResult.model_validate(
            {k: v for k, v in record["output"].items() if k in CopiedResult.model_fields}
        )
        return SUCCEEDED, succeeded_detail(job_id, record, copied, cursor)
    failure = record.get("error") or {"name": "UnknownError", "message": "the job failed", "retryable": False}
    return FAILED, failed_detail(job_id, failure, record, cursor if attempt else None)
