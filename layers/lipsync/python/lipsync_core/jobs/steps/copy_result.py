"""CopyResult: the service's video into S3 (``access.multipart``), ``<key>.job.json`` beside it, and
the job marked SUCCEEDED. A result URL that expired is replaced by a fresh one from ``CVGetResult``.
"""

from __future__ import annotations

from typing import Any

from lipsync_core.jobs.access.multipart import stream_to_s3
from lipsync_core.jobs.access.outputs import document_key, output_location, write_job_document
from lipsync_core.jobs.access.result_urls import UrlPolicy, open_result
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.contract import CursorStatus, Status
from lipsync_core.jobs.domain.errors import (
    JobAlreadyFinishedError,
    ResultDownloadError,
    ResultUrlExpiredError,
)
from lipsync_core.jobs.domain.events import succeeded_detail
from lipsync_core.jobs.domain.flow_limits import POLL
from lipsync_core.jobs.domain.models import CopiedResult, JobState
from lipsync_core.volc import TaskResult, VolcClient

from .context import StepContext


def copy_result(state: JobState, context: StepContext, *, volc: VolcClient, s3: Any) -> dict[str, Any]:
    """Copy the result and write ``<key>.job.json`` beside it; returns the success event's detail."""
    settings, metrics = context.settings, context.metrics
    assert state.cursor is not None
    record = context.job(state.job_id)
    request = record.request
    bucket, key = output_location(state.job_id, request, settings)
    policy = UrlPolicy(allow_local=settings.allow_local_urls, allowed_hosts=settings.allowed_result_hosts)

    response = None
    # The poll that saw ``done`` passed its answer on; a URL that expired gets one fresh replacement.
    known = TaskResult(**state.cursor.result) if state.cursor.result else None
    for _ in range(2):
        if known is None:
            context.flow.wait_for(POLL, request.mode)  # CVGetResult counts against the shared poll budget
            known = volc.get_result(request.mode, state.cursor.task_id, aigc_meta=request.aigc_meta)
        result = known
        if result.status != CursorStatus.DONE or not result.video_url:
            raise ResultDownloadError(f"task {state.cursor.task_id} is {result.status}, not done")
        try:
            response = open_result(result.video_url, policy)
            break
        except ResultUrlExpiredError:
            known = None
    if response is None:
        raise ResultDownloadError("the result URL expired twice in a row")

    size, sha256 = stream_to_s3(
        response,
        s3,
        bucket,
        key,
        part_bytes=settings.copy_part_bytes,
        metadata={"job-id": state.job_id, "task-id": state.cursor.task_id},
    )
    meta = (result.resp_data or {}).get("video_meta") or {}
    copied = CopiedResult(
        bucket=bucket,
        key=key,
        size_bytes=size,
        sha256=sha256,
        job_document_key=document_key(key),
        duration_seconds=meta.get("duration"),
    )
    document = {
        "job_id": state.job_id,
        "mode": request.mode.value,
        "task_id": state.cursor.task_id,
        "attempt": state.cursor.attempt,
        "request": request.model_dump(mode="json", exclude_none=True),
        "output": copied.model_dump(),
        "service": {"request_id": result.request_id, "resp_data": result.resp_data},
        "created_at": record.created_at,
    }
    write_job_document(s3, bucket, copied.job_document_key, state.job_id, document)
    if not context.store.finish(state.job_id, Status.SUCCEEDED, output=copied.model_dump()):
        raise JobAlreadyFinishedError(f"job {state.job_id} ended while its result was copied")
    metrics.add_metric(m.BYTES_COPIED, "Bytes", size)
    if record.parent is None:  # a segment's success is its job's step, not a job's success
        metrics.add_metric(m.SUCCEEDED, "Count", 1)
        metrics.add_metric(m.PROCESSING_SECONDS, "Seconds", round(context.clock() - record.created_epoch, 3))
    return succeeded_detail(record, copied, state.cursor)
