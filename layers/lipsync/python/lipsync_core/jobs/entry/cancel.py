"""Cancelling a job (``DELETE /jobs/{id}``): the record first (so the workflow cannot finish it
afterwards), then its place in the line (a waiting job pays nothing and the jobs behind it move up),
then the execution, then the service's task (best effort), then its capacity slot, then the
``LipSync Job Cancelled`` event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.access.bus import publish
from lipsync_core.jobs.access.segment_records import end_segments, segments_of
from lipsync_core.jobs.domain.contract import DetailType, FailState, Status
from lipsync_core.jobs.domain.errors import JobStateConflictError
from lipsync_core.jobs.domain.events import cancelled_detail
from lipsync_core.volc import VolcClient

from .context import EntryContext
from .queries import public_view

logger = logging.getLogger(__name__)


def cancel_job(job_id: str, context: EntryContext) -> dict[str, Any]:
    """Cancel the job; ``JobStateConflictError`` when it has already ended."""
    store, volc = context.store, _volc_client(context.volc, job_id)
    record = store.get(job_id)
    if record.parent is not None:
        raise JobStateConflictError(f"{job_id} is a segment of job {record.parent}: cancel the job")
    if record.terminal or not store.finish(job_id, Status.CANCELLED):
        raise JobStateConflictError(f"job {job_id} is already {store.get(job_id).status}")
    context.line.remove(job_id)
    # A segmented job's segments stop with it; their tasks at the service are cancelled as the job's is.
    segments = end_segments(
        segments_of(record, store), store, context.line, context.flow, reason="the job was cancelled"
    )
    if record.execution_arn:
        try:
            context.stepfunctions.stop_execution(
                executionArn=record.execution_arn,
                error=FailState.JOB_CANCELLED,
                cause="cancelled through the API",
            )
        except ClientError as error:  # gone, or already closed: the record is what answers
            code = error.response.get("Error", {}).get("Code")
            logger.warning("the execution was not stopped", extra={"job_id": job_id, "code": code})
    for task_id in [r.task_id for r in (record, *segments) if r.task_id]:
        if volc is None:
            break
        try:
            volc.cancel_task(record.mode, task_id)
        except Exception as error:  # best effort: the action or task may be unknown, the service away
            logger.warning("CVCancelTask failed", extra={"job_id": job_id, "error": type(error).__name__})
    context.flow.release_slot(job_id, record.mode)  # the reconciler would free it too, on the execution's end
    record = store.get(job_id)
    publish(context.events_client, context.settings, DetailType.CANCELLED, cancelled_detail(record))
    return public_view(record)


def _volc_client(volc: Callable[[], VolcClient], job_id: str) -> VolcClient | None:
    """The client for ``CVCancelTask``, if it can be had: cancelling must not depend on the credentials
    being readable."""
    try:
        return volc()
    except Exception:
        logger.warning("no Volcengine client for CVCancelTask", extra={"job_id": job_id})
        return None
