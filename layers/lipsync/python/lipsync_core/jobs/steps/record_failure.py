"""RecordFailure: turn what Step Functions caught into a FAILED job record and the failed event."""

from __future__ import annotations

import json
import re
from typing import Any

from lipsync_core.jobs.access.segment_records import end_segments, segments_of
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.contract import RETRYABLE_ERRORS, Status
from lipsync_core.jobs.domain.documents import MAX_MESSAGE
from lipsync_core.jobs.domain.errors import JobNotFoundError
from lipsync_core.jobs.domain.events import failed_detail
from lipsync_core.jobs.domain.models import FailureState
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.sanitise import sanitise

from .context import StepContext

# VolcError.__str__ ends with "(code=…, http_status=…, request_id=…)".
_DETAILS = re.compile(
    r"^(?P<message>.*?)\s*\((?P<details>(?:code|http_status|request_id)=[^()]*)\)\s*$", re.S
)


def describe_failure(error: str, cause: str | None) -> dict[str, Any]:
    """Name, message, service code and request id from a Catch's ``Error`` and ``Cause``."""
    message = cause or error
    name = error
    try:
        parsed = json.loads(cause) if cause else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):  # a Lambda error: {"errorMessage", "errorType", ...}
        message = str(parsed.get("errorMessage") or error)
        name = str(parsed.get("errorType") or error)
    failure: dict[str, Any] = {"name": name, "message": message}
    match = _DETAILS.match(message)
    if match:
        failure["message"] = match["message"]
        for item in match["details"].split(", "):
            key, _, value = item.partition("=")
            failure[key] = int(value) if value.isdigit() else sanitise(value, 200)
    failure["name"] = sanitise(name, 200)
    failure["message"] = sanitise(str(failure["message"]), MAX_MESSAGE)
    failure["retryable"] = name in RETRYABLE_ERRORS
    return failure


def record_failure(state: FailureState, context: StepContext) -> dict[str, Any]:
    """Mark the job FAILED and return the failed event's detail; for a job that had already ended
    (cancelled meanwhile), return only its status, so that nothing more is announced. Whatever
    happened, the job leaves the line and its slot for an unfinished task is given back."""
    store = context.store
    failure = describe_failure(state.error.Error, state.error.Cause)
    try:
        record: JobRecord | None = context.job(state.job_id)
    except JobNotFoundError:
        record = None
    segments: list[JobRecord] = []
    if record is not None:
        context.line.remove(state.holder)  # a job that failed while it waited (its wait timed out)
        context.flow.release_slot(state.holder, record.mode)
        segments = segments_of(record, store)
        failure = _segment_named(segments, failure)
    if record is not None and not store.finish(state.job_id, Status.FAILED, error=failure):
        return {"job_id": state.job_id, "status": store.get(state.job_id).status, "ignored_error": failure}
    # the segments still running stop with their job
    end_segments(segments, store, context.line, context.flow, reason="another segment of the job failed")
    if record is None or record.parent is None:  # a segment's failure is its job's to count
        context.metrics.add_metric(m.FAILED, "Count", 1)
    return failed_detail(state.job_id, failure, record, state.cursor)


def _segment_named(segments: list[JobRecord], failure: dict[str, Any]) -> dict[str, Any]:
    """A segmented job's failure says which of its ``segments`` failed (the one whose record is FAILED)."""
    for position, segment in enumerate(segments, start=1):
        if segment.status == Status.FAILED:
            message = f"segment {position} of {len(segments)} failed: {failure['message']}"
            return {**failure, "message": message[:MAX_MESSAGE], "segment": position}
    return failure
