"""Batches: many job requests at once (JSON Lines, one request per line), each line its own job.

- A job's id derives from the batch and the line (``<batch_id>-L0007``), so a redelivered batch
  starts nothing twice, and the id says which batch a job belongs to.
- Every line is validated before anything is written; invalid lines are reported by line number,
  and the valid ones start (each through ``requests.accept``, the path of every other job).
- The batch record (in the job table, ``kind = "batch"``, so it is in no job listing) lists its jobs;
  as each ends, ``record_ended`` adds it to a set by status. The last one claims the batch's end once
  and ``LipSync Batch Finished`` is announced.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from lipsync_core.jobs.access.bus import publish
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.contract import DetailType
from lipsync_core.jobs.domain.documents import check_idempotency_key, json_lines, parse_document
from lipsync_core.jobs.domain.errors import DocumentRejectedError, JobConflictError, RequestRejectedError
from lipsync_core.jobs.domain.events import batch_finished_detail
from lipsync_core.jobs.domain.records import BatchRecord, iso_now
from lipsync_core.jobs.domain.settings import Settings

from .context import EntryContext
from .requests import accept, check_output, derive_job_id, parse_request

MAX_LINES = 500
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
API_BATCHES_PREFIX = "jobs/batches/"
_API_MANIFEST = re.compile(r"^jobs/batches/(?P<batch>batch-[0-9a-f]{32})\.jsonl$")
BATCH_JOB_ID = re.compile(r"^(?P<batch>batch-[0-9a-f]{32})-L(?P<line>\d{4})$")


def batch_id_for(*parts: str) -> str:
    """``batch-<32 hex>``, derived from the identity of the delivery (an idempotency key, an object)."""
    return derive_job_id("batch", *parts)


def batch_job_id(batch_id: str, line: int) -> str:
    return f"{batch_id}-L{line:04d}"


def _check_line(text: str, settings: Settings) -> Any:
    try:
        raw = parse_document(text)
    except DocumentRejectedError as error:
        raise RequestRejectedError(f"the line {error.message}") from None
    if isinstance(raw, dict) and raw.get("job_id"):
        raise RequestRejectedError("a batch line cannot name its job_id: the batch and line number do")
    check_output("batch-check", parse_request(raw, settings), settings)
    return raw


def register_batch(
    text: str, *, batch_id: str, store: JobStore, settings: Settings
) -> tuple[dict[str, Any], dict[int, Any], bool]:
    """Validate every line and record the batch (before any of its jobs: a job that ends at once
    finds its batch). Returns (summary, valid lines by number, created)."""
    try:
        lines = json_lines(text)
    except DocumentRejectedError as error:
        raise RequestRejectedError(f"the batch {error.message}") from None
    if not lines:
        raise RequestRejectedError("the batch has no requests (one JSON request per line)")
    if len(lines) > MAX_LINES:
        raise RequestRejectedError(f"the batch has {len(lines)} requests; the limit is {MAX_LINES}")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    valid: dict[int, Any] = {}
    errors: list[dict[str, Any]] = []
    for number, line in lines:
        try:
            valid[number] = _check_line(line, settings)
        except RequestRejectedError as error:
            errors.append({"line": number, "reason": error.reason, "errors": error.errors})
    jobs = [batch_job_id(batch_id, number) for number in valid]
    record, created = store.create_batch(
        batch_id, digest=digest, jobs=jobs, line_errors=errors, total=len(valid)
    )
    if not created and record.digest != digest:
        raise JobConflictError(f"batch {batch_id} is already used by a different batch")
    return summary(record), valid, created


def start_batch(text: str, *, batch_id: str, context: EntryContext) -> tuple[dict[str, Any], bool]:
    """Record the batch (unless it is), then start its jobs. A redelivery re-accepts every line:
    each job id starts at most once. Returns (summary, created)."""
    batch, valid, created = register_batch(
        text, batch_id=batch_id, store=context.store, settings=context.settings
    )
    for number, raw in valid.items():
        accept(raw, source="s3", delivery_job_id=batch_job_id(batch_id, number), context=context)
    return batch, created


def manifest_key(batch_id: str) -> str:
    """Where ``POST /batches`` puts a batch for the start function (a ``jobs/*.jsonl`` manifest)."""
    return f"{API_BATCHES_PREFIX}{batch_id}.jsonl"


def batch_id_of_object(bucket: str, key: str, version: str) -> str:
    """The id a manifest's batch gets: its own for ``POST /batches``, else derived from the object."""
    match = _API_MANIFEST.match(key)
    return match["batch"] if match else batch_id_for("s3", bucket, key, version)


def read_manifest(s3: Any, bucket: str, key: str, version_id: str | None) -> str:
    kwargs = {"VersionId": version_id} if version_id else {}
    answer = s3.get_object(Bucket=bucket, Key=key, **kwargs)
    if answer["ContentLength"] > MAX_MANIFEST_BYTES:
        raise RequestRejectedError(
            f"the batch manifest is {answer['ContentLength']} bytes; the limit is {MAX_MANIFEST_BYTES}"
        )
    try:
        return str(answer["Body"].read().decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestRejectedError("the batch manifest is not UTF-8 text") from None


def api_batch_id(idempotency_key: str | None) -> str:
    """The id ``POST /batches`` derives: from its ``Idempotency-Key``, checked and used as ``POST /jobs``
    uses it (``requests.api_job_id``), else a fresh one."""
    key = check_idempotency_key(idempotency_key)
    return batch_id_for("api", key if key is not None else uuid.uuid4().hex)


def create_batch(text: str, *, batch_id: str, context: EntryContext) -> tuple[dict[str, Any], bool]:
    """``POST /batches``: validate and record the batch, then put its manifest under ``jobs/`` for the
    start function, which starts its jobs (starting hundreds of executions would not always fit in the
    API's 29 s). Returns (summary, created)."""
    settings = context.settings
    batch, _, created = register_batch(text, batch_id=batch_id, store=context.store, settings=settings)
    context.s3.put_object(Bucket=settings.bucket_name, Key=manifest_key(batch_id), Body=text.encode("utf-8"))
    return batch, created


def get_batch(batch_id: str, *, store: JobStore) -> BatchRecord:
    return store.get_batch(batch_id)


def summary(record: BatchRecord) -> dict[str, Any]:
    """What ``GET /batches/{id}`` answers: counts by status, the jobs, the invalid lines."""
    ended = record.ended()
    done = sum(len(jobs) for jobs in ended.values())
    return {
        "batch_id": record.batch_id,
        "status": "FINISHED" if record.finished_at else "RUNNING",
        "total": record.total,
        "running": record.total - done,
        **{name: len(jobs) for name, jobs in ended.items()},
        "rejected_lines": len(record.line_errors),
        "line_errors": record.line_errors,
        "jobs": record.jobs,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
    }


def record_ended(
    job_id: str, status: str, *, store: JobStore, events_client: Any, settings: Settings
) -> bool:
    """A batch job ended (its terminal event, delivered at least once). Returns True when this call
    announced the batch's end. Raises when the event could not be put, so the delivery is retried."""
    match = BATCH_JOB_ID.match(job_id)
    if match is None or status not in BatchRecord.ENDED_SETS:
        return False
    batch_id = match["batch"]
    record = store.add_ended_job(batch_id, job_id, status)
    if not record.all_ended or record.finished_at:
        return False
    finished_at = iso_now()
    if not store.claim_batch_end(batch_id, finished_at):  # concurrent last jobs, or a redelivery
        return False
    detail = batch_finished_detail(summary(record.model_copy(update={"finished_at": finished_at})))
    try:
        publish(events_client, settings, DetailType.BATCH_FINISHED, detail)
    except Exception:
        store.release_batch_end(batch_id)  # give the claim back: the retried delivery announces it
        raise
    return True
