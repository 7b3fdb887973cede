"""Batches: many job requests at once (JSON Lines, one request per line), each line its own job.

- A job's id derives from the batch and the line (``<batch_id>-L0007``), so a redelivered batch
  starts nothing twice, and the id says which batch a job belongs to.
- Every line is validated before anything is written; invalid lines are reported by line number,
  and the valid ones start (each through ``intake.accept``, the path of every other job).
- The batch record (in the job table, ``kind = "batch"``, so it is in no job listing) lists its jobs;
  as each ends, ``record_ended`` adds it to a set by status. The last one claims the batch's end once
  and ``LipSync Batch Finished`` is announced.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from botocore.exceptions import ClientError

from . import events
from .copying import output_location
from .errors import OutputNotAllowedError
from .intake import JobConflictError, RequestRejectedError, accept, derive_job_id, parse_request
from .manifests import Intake, Outcome, s3_key_from_event
from .settings import Settings
from .store import JobStore, from_dynamo, iso_now

FINISHED = "LipSync Batch Finished"
BATCH_KIND = "batch"
MAX_LINES = 500
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
API_BATCHES_PREFIX = "jobs/batches/"
_API_MANIFEST = re.compile(r"^jobs/batches/(?P<batch>batch-[0-9a-f]{32})\.jsonl$")
BATCH_JOB_ID = re.compile(r"^(?P<batch>batch-[0-9a-f]{32})-L(?P<line>\d{4})$")
ENDED = {"SUCCEEDED": "succeeded", "FAILED": "failed", "CANCELLED": "cancelled"}  # status -> job set


class BatchNotFoundError(Exception):
    pass


def batch_id_for(*parts: str) -> str:
    """``batch-<32 hex>``, derived from the identity of the delivery (an idempotency key, an object)."""
    return derive_job_id("batch", *parts)


def batch_job_id(batch_id: str, line: int) -> str:
    return f"{batch_id}-L{line:04d}"


def _check_line(text: str, settings: Settings) -> Any:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestRejectedError(f"the line is not JSON: {error.msg}") from None
    if isinstance(raw, dict) and raw.get("job_id"):
        raise RequestRejectedError("a batch line cannot name its job_id: the batch and line number do")
    request = parse_request(raw, settings)
    try:
        output_location("batch-check", request, settings)
    except OutputNotAllowedError as error:
        raise RequestRejectedError(str(error), [{"field": "output", "message": str(error)}]) from None
    return raw


def register_batch(
    text: str, *, batch_id: str, store: JobStore, settings: Settings
) -> tuple[dict[str, Any], dict[int, Any], bool]:
    """Validate every line and record the batch (before any of its jobs: a job that ends at once
    finds its batch). Returns (summary, valid lines by number, created)."""
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
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
    record = {
        "job_id": batch_id,
        "kind": BATCH_KIND,
        "created_at": iso_now(),
        "digest": digest,
        "jobs": [batch_job_id(batch_id, number) for number in valid],
        "line_errors": errors,
        "total": len(valid),
    }
    try:
        store.table.put_item(Item=record, ConditionExpression="attribute_not_exists(job_id)")
        created = True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        record = get_batch(batch_id, store=store)
        if record["digest"] != digest:
            raise JobConflictError(f"batch {batch_id} is already used by a different batch") from None
        created = False
    return summary(record), valid, created


def start_batch(
    text: str,
    *,
    batch_id: str,
    store: JobStore,
    stepfunctions: Any,
    settings: Settings,
    state_machine_arn: str,
) -> tuple[dict[str, Any], bool]:
    """Record the batch (unless it is), then start its jobs. A redelivery re-accepts every line:
    each job id starts at most once. Returns (summary, created)."""
    batch, valid, created = register_batch(text, batch_id=batch_id, store=store, settings=settings)
    for number, raw in valid.items():
        accept(
            raw,
            source="s3",
            delivery_job_id=batch_job_id(batch_id, number),
            store=store,
            stepfunctions=stepfunctions,
            settings=settings,
            state_machine_arn=state_machine_arn,
        )
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


def get_batch(batch_id: str, *, store: JobStore) -> dict[str, Any]:
    item = store.table.get_item(Key={"job_id": batch_id}, ConsistentRead=True).get("Item")
    if item is None or item.get("kind") != BATCH_KIND:
        raise BatchNotFoundError(f"no batch {batch_id}")
    return dict(from_dynamo(item))


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /batches/{id}`` answers: counts by status, the jobs, the invalid lines."""
    ended = {name: sorted(record.get(name) or ()) for name in ENDED.values()}
    done = sum(len(jobs) for jobs in ended.values())
    return {
        "batch_id": record["job_id"],
        "status": "FINISHED" if record.get("finished_at") else "RUNNING",
        "total": record["total"],
        "running": record["total"] - done,
        **{name: len(jobs) for name, jobs in ended.items()},
        "rejected_lines": len(record.get("line_errors") or []),
        "line_errors": record.get("line_errors") or [],
        "jobs": record.get("jobs") or [],
        "created_at": record.get("created_at"),
        "finished_at": record.get("finished_at"),
    }


def record_ended(
    job_id: str, status: str, *, store: JobStore, events_client: Any, settings: Settings
) -> bool:
    """A batch job ended (its terminal event, delivered at least once). Returns True when this call
    announced the batch's end. Raises when the event could not be put, so the delivery is retried."""
    match = BATCH_JOB_ID.match(job_id)
    if match is None or status not in ENDED:
        return False
    batch_id = match["batch"]
    answer = store.table.update_item(
        Key={"job_id": batch_id},
        UpdateExpression="ADD #set :job",
        ConditionExpression="attribute_exists(job_id)",
        ExpressionAttributeNames={"#set": ENDED[status]},
        ExpressionAttributeValues={":job": {job_id}},
        ReturnValues="ALL_NEW",
    )
    record = dict(from_dynamo(answer["Attributes"]))
    done = sum(len(record.get(name) or ()) for name in ENDED.values())
    if done < record["total"] or record.get("finished_at"):
        return False
    finished_at = iso_now()
    try:  # one claim: concurrent last jobs, or a redelivery, announce nothing twice
        store.table.update_item(
            Key={"job_id": batch_id},
            UpdateExpression="SET finished_at = :at",
            ConditionExpression="attribute_not_exists(finished_at)",
            ExpressionAttributeValues={":at": finished_at},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    detail = {"version": events.SCHEMA_VERSION, **summary({**record, "finished_at": finished_at})}
    for bulky in ("line_errors", "jobs"):  # pointers and counts only; GET /batches/{id} has the rest
        detail.pop(bulky)
    try:
        events.publish(
            events_client,
            bus=settings.event_bus_name,
            source=settings.event_source,
            detail_type=FINISHED,
            detail=detail,
        )
    except Exception:
        store.table.update_item(  # give the claim back: the retried delivery announces it
            Key={"job_id": batch_id}, UpdateExpression="REMOVE finished_at"
        )
        raise
    return True


def from_manifest(
    intake: Intake, bucket: str, raw_key: str, version_id: str | None, etag: str | None
) -> Outcome:
    """A ``jobs/*.jsonl`` manifest: the start function's path for batches (S3 notification)."""
    key = s3_key_from_event(raw_key)
    batch_id = batch_id_of_object(bucket, key, version_id or etag or "")
    try:
        text = read_manifest(intake.s3, bucket, key, version_id)
        _, created = start_batch(
            text,
            batch_id=batch_id,
            store=intake.store,
            stepfunctions=intake.stepfunctions,
            settings=intake.settings,
            state_machine_arn=intake.state_machine_arn,
        )
    except (RequestRejectedError, JobConflictError) as error:
        reference = {"bucket": bucket, "key": key, "version_id": version_id, "etag": etag}
        return intake._reject("s3", error, reference)
    return Outcome(job_id=batch_id, created=created, rejected_reason=None)
