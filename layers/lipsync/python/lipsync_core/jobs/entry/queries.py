"""What the HTTP API reads: one job (with its place in the line while it waits), pages of jobs (newest
first), and the line itself."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from lipsync_core.jobs.access.presigning import InputSigner, url_signer
from lipsync_core.jobs.access.queue import mode_view, place
from lipsync_core.jobs.domain.contract import Status
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.volc.models import Mode

from .context import EntryContext

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
    "inputs",  # what Prepare found in the inputs, what it changed, what was sent
    "parent",  # a segment's job
    "history",
)
SEGMENT_FIELDS = ("job_id", "status", "service_status", "progress", "attempt", "task_id", "error")


def public_view(record: JobRecord, signer: InputSigner | None = None) -> dict[str, Any]:
    """The record as callers see it (what was stored, less the workflow's bookkeeping); with a
    ``signer``, a succeeded job's output gets a download URL, valid as long as the answer says."""
    stored = record.model_dump(mode="json", exclude_none=True)
    view = {name: stored[name] for name in PUBLIC_FIELDS if name in stored}
    if record.output is not None:
        view["output"] = record.output.model_dump(mode="json")  # as stored, with its empty fields
    view["request"] = stored["request"]
    if signer is not None and record.status == Status.SUCCEEDED and record.output:
        view["output"] = {
            **view["output"],
            "url": signer.presign("get_object", {"Bucket": record.output.bucket, "Key": record.output.key}),
            "url_expires_in": signer.lifetime,
        }
    return view


def segments_view(record: JobRecord, context: EntryContext) -> dict[str, Any] | None:
    """A segmented job's progress over all its segments: each one's status, and the share of the
    voice's frames whose segment has a result (or, while it renders, the service's progress)."""
    plan = record.inputs.segments if record.inputs else None
    if plan is None:
        return None
    by_id = {segment.job_id: segment for segment in context.store.many(plan.ids)}
    total = sum(planned.frames for planned in plan.segments)
    done, listed = 0.0, []
    for planned in plan.segments:
        segment = by_id.get(planned.job_id)
        stored = segment.model_dump(mode="json", exclude_none=True) if segment else {}
        listed.append(
            {
                "index": planned.index,
                "seconds": round(float(planned.frames / plan.frame_rate), 3),
                **{name: stored[name] for name in SEGMENT_FIELDS if name in stored},
            }
        )
        if segment is not None and segment.status == Status.SUCCEEDED:
            done += planned.frames
        elif segment is not None and isinstance(segment.progress, int | float):
            done += planned.frames * min(float(segment.progress), 100.0) / 100
    return {
        "total": len(listed),
        "by_status": dict(Counter(item.get("status", "UNKNOWN") for item in listed)),
        "progress": round(100 * done / total, 1),
        "items": listed,
    }


def _furthest(by_status: dict[str, int], recorded: str) -> str:
    if by_status.get(Status.RUNNING) or by_status.get(Status.SUCCEEDED):
        return Status.RUNNING
    return Status.SUBMITTED if by_status.get(Status.SUBMITTED) else recorded


def get_job(job_id: str, context: EntryContext) -> dict[str, Any]:
    record = context.store.get(job_id)
    segments = segments_view(record, context)
    if record.status == Status.SUCCEEDED and record.output:
        view = public_view(
            record, url_signer(context.settings, context.s3, context.settings.result_url_seconds)
        )
        return view | ({"segments": segments} if segments else {})
    view = public_view(record)
    if segments:
        view["segments"] = segments
        if not record.terminal:  # the job is as far as its furthest segment
            view["status"] = _furthest(segments["by_status"], record.status)
    entry = context.line.get(job_id) if record.status == Status.QUEUED else None
    if entry is not None:  # waiting for the service's capacity: where it stands
        view["line"] = place(context.line, context.flow, entry, time.time())
    return view


def queue(context: EntryContext) -> dict[str, Any]:
    """``GET /queue``: per mode and priority, how many wait and since when, how many run, and when the
    line may drain."""
    now = time.time()
    return {"modes": [mode_view(context.line, context.flow, mode, now).as_dict() for mode in Mode]}


def list_jobs(
    context: EntryContext, *, status: str | None, limit: int, next_token: str | None
) -> dict[str, Any]:
    """Newest first: within a status, or every job. ``next_token`` must be one this API handed out."""
    page = context.store.list_jobs(status=status, limit=limit, next_token=next_token)
    return {"jobs": [public_view(record) for record in page.records], "next_token": page.next_token}
