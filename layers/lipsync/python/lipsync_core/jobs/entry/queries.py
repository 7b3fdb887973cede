"""What the HTTP API reads: one job, and pages of jobs (newest first)."""

from __future__ import annotations

from typing import Any

from lipsync_core.jobs.domain.contract import Status
from lipsync_core.jobs.domain.records import JobRecord

from .context import EntryContext

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
    "inputs",  # what Prepare found in the inputs, what it changed, what was sent
    "history",
)


def public_view(record: JobRecord, s3: Any | None = None) -> dict[str, Any]:
    """The record as callers see it (what was stored, less the workflow's bookkeeping); with ``s3``,
    a succeeded job's output gets a download URL."""
    stored = record.model_dump(mode="json", exclude_none=True)
    view = {name: stored[name] for name in PUBLIC_FIELDS if name in stored}
    if record.output is not None:
        view["output"] = record.output.model_dump(mode="json")  # as stored, with its empty fields
    view["request"] = stored["request"]
    if s3 is not None and record.status == Status.SUCCEEDED and record.output:
        view["output"] = {
            **view["output"],
            "url": s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": record.output.bucket, "Key": record.output.key},
                ExpiresIn=RESULT_URL_SECONDS,
            ),
            "url_expires_in": RESULT_URL_SECONDS,
        }
    return view


def get_job(job_id: str, context: EntryContext) -> dict[str, Any]:
    return public_view(context.store.get(job_id), context.s3)


def list_jobs(
    context: EntryContext, *, status: str | None, limit: int, next_token: str | None
) -> dict[str, Any]:
    """Newest first: within a status, or every job. ``next_token`` must be one this API handed out."""
    page = context.store.list_jobs(status=status, limit=limit, next_token=next_token)
    return {"jobs": [public_view(record) for record in page.records], "next_token": page.next_token}
