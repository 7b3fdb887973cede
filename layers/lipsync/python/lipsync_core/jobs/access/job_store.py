"""The job table (DynamoDB): one item per job, every status transition appended to ``history``, and
one item per batch (``kind = "batch"``). This is the only code that writes the table's expressions;
it hands out typed records (``domain.records``), never raw items.

Writes are conditional so that retries and duplicate deliveries cannot move a job backwards, pay
for a second task, or overwrite a terminal status.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.contract import TERMINAL_STATUSES, CursorStatus, Status
from lipsync_core.jobs.domain.documents import check_document, parse_document
from lipsync_core.jobs.domain.errors import (
    BadPageTokenError,
    BatchNotFoundError,
    JobConflictError,
    JobNotFoundError,
)
from lipsync_core.jobs.domain.models import RECORD_ID_PATTERN, JobRequest, PreparedInputs, WebhookTarget
from lipsync_core.jobs.domain.records import BatchRecord, JobRecord, iso_now
from lipsync_core.jobs.domain.segmenting import SEGMENT_KIND

from .dynamo import conditional_failed, from_dynamo, to_dynamo

LISTED_KIND = "job"  # the by-created index's partition: every job, newest first
BATCH_GET_MAX = 100  # keys per BatchGetItem
BATCH_KIND = "batch"  # in no job listing
_NOT_TERMINAL = "NOT #status IN (:succeeded, :failed, :cancelled)"
_TERMINAL_VALUES = {":succeeded": Status.SUCCEEDED, ":failed": Status.FAILED, ":cancelled": Status.CANCELLED}
# The keys of a page's last item: the table's key plus the index's (by-status, or by-created).
_STATUS_KEYS = frozenset({"job_id", "status", "created_at"})
_CREATED_KEYS = frozenset({"job_id", "kind", "created_at"})
_RUNNING = (CursorStatus.GENERATING, CursorStatus.DONE)  # task statuses that make a job RUNNING
# A stored request was validated under the stack's URL policy when it was accepted; reading it back
# does not judge it again (a local stack's http URLs are its own).
_STORED = {"allow_http": True}


def _record(item: dict[str, Any]) -> JobRecord:
    return JobRecord.model_validate(from_dynamo(item), context=_STORED)


@dataclass(frozen=True)
class JobPage:
    records: list[JobRecord]
    next_token: str | None  # for the next page; None on the last


class JobStore:
    def __init__(self, table: Any) -> None:
        self.table = table  # a boto3 DynamoDB Table resource

    def get(self, job_id: str) -> JobRecord:
        if not re.match(RECORD_ID_PATTERN, job_id):  # cannot name a job (a path, say): no need to ask
            raise JobNotFoundError(f"job {job_id[:100]!r} has no record")
        item = self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("kind") == BATCH_KIND:
            raise JobNotFoundError(f"job {job_id} has no record")
        return _record(item)

    def create(
        self,
        job_id: str,
        request: JobRequest,
        *,
        source: str = "direct",
        status: str = Status.QUEUED,
        execution_arn: str | None = None,
        parent: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Create the record unless it exists; returns (record, created). A segment names its job
        (``parent``) and is kept out of the job listings (``domain.segmenting``)."""
        now = iso_now()
        item: dict[str, Any] = {
            "job_id": job_id,
            "kind": SEGMENT_KIND if parent else LISTED_KIND,
            "status": status,
            "mode": request.mode.value,
            "request": request.model_dump(mode="json", exclude_none=True),
            "source": source,
            "created_at": now,
            "updated_at": now,
            "attempt": 0,
            "attempts": {},
            "claims": {},
            "polls": 0,
            "history": [{"status": status, "at": now}],
        }
        if execution_arn:
            item["execution_arn"] = execution_arn
        if parent:
            item["parent"] = parent
        try:
            self.table.put_item(Item=to_dynamo(item), ConditionExpression="attribute_not_exists(job_id)")
        except ClientError as error:
            if not conditional_failed(error):
                raise
            return self._taken(job_id), False
        return JobRecord.model_validate({**item, "request": request}), True

    def _taken(self, job_id: str) -> JobRecord:
        """The job that has ``job_id`` already; a conflict when a batch has it."""
        try:
            return self.get(job_id)
        except JobNotFoundError:
            raise JobConflictError(f"job id {job_id} is already used by a batch") from None

    def claim_attempt(self, job_id: str, attempt: int) -> bool:
        """Reserve the right to pay for ``attempt``; False when someone already holds it."""
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET claims.#n = :at",
                ConditionExpression=(
                    f"attribute_exists(job_id) AND attribute_not_exists(claims.#n) AND {_NOT_TERMINAL}"
                ),
                ExpressionAttributeNames={"#n": str(attempt), "#status": "status"},
                ExpressionAttributeValues={":at": iso_now(), **_TERMINAL_VALUES},
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def release_claim(self, job_id: str, attempt: int) -> None:
        """After a submit that certainly created no task, so that a retry may try again."""
        self.table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="REMOVE claims.#n",
            ExpressionAttributeNames={"#n": str(attempt)},
        )

    def record_submission(
        self, job_id: str, attempt: int, task_id: str, request_id: str | None, *, deadline_epoch: int
    ) -> bool:
        """Record the paid task; the first one starts the job's deadline (``deadline_epoch``), which bounds
        paid work. Returns False when the job ended meanwhile (cancelled): the task is still recorded,
        the terminal status is kept."""
        now = iso_now()
        submission = {"task_id": task_id, "request_id": request_id, "submitted_at": now}
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=(
                    "SET attempts.#n = :submission, attempt = :attempt, task_id = :task, "
                    "#status = :submitted, updated_at = :now, history = list_append(history, :entry), "
                    "deadline_epoch = if_not_exists(deadline_epoch, :deadline) "
                    "REMOVE service_status, progress"
                ),
                ConditionExpression=_NOT_TERMINAL,
                ExpressionAttributeNames={"#n": str(attempt), "#status": "status"},
                ExpressionAttributeValues={
                    ":submission": submission,
                    ":attempt": attempt,
                    ":task": task_id,
                    ":submitted": Status.SUBMITTED,
                    ":deadline": deadline_epoch,
                    ":now": now,
                    ":entry": [
                        {"status": Status.SUBMITTED, "at": now, "attempt": attempt, "task_id": task_id}
                    ],
                    **_TERMINAL_VALUES,
                },
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET attempts.#n = :submission, task_id = :task, updated_at = :now",
                ExpressionAttributeNames={"#n": str(attempt)},
                ExpressionAttributeValues={":submission": submission, ":task": task_id, ":now": now},
            )
            return False
        return True

    def record_inputs(self, job_id: str, inputs: PreparedInputs) -> bool:
        """What Prepare found and chose to send; False when the job had already ended."""
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET inputs = :inputs, updated_at = :now",
                ConditionExpression=f"attribute_exists(job_id) AND {_NOT_TERMINAL}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":inputs": to_dynamo(inputs.model_dump(mode="json", exclude_none=True)),
                    ":now": iso_now(),
                    **_TERMINAL_VALUES,
                },
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def record_poll(
        self, job_id: str, service_status: str, progress: float | None, polls: int, previous_status: str
    ) -> None:
        """Record a poll; the job becomes RUNNING once the service is generating."""
        now = iso_now()
        new_status = Status.RUNNING if service_status in _RUNNING else previous_status
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":service": service_status,
            ":polls": polls,
            ":now": now,
            ":new": new_status,
            **_TERMINAL_VALUES,
        }
        expression = "SET service_status = :service, polls = :polls, updated_at = :now, #status = :new"
        if progress is not None:
            expression += ", progress = :progress"
            values[":progress"] = to_dynamo(progress)
        if new_status != previous_status:
            expression += ", history = list_append(history, :entry)"
            values[":entry"] = [{"status": new_status, "at": now}]
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=expression,
                ConditionExpression=_NOT_TERMINAL,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        output: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Move the job to a terminal status once; False if it already had one."""
        assert status in TERMINAL_STATUSES
        now = iso_now()
        expression = (
            "SET #status = :status, updated_at = :now, finished_at = :now, "
            "history = list_append(history, :entry)"
        )
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":status": status,
            ":now": now,
            ":entry": [{"status": status, "at": now}],
            **_TERMINAL_VALUES,
        }
        for name, value in (("output", output), ("error", error)):
            if value is not None:
                expression += f", #{name} = :{name}"
                names[f"#{name}"] = name
                values[f":{name}"] = to_dynamo(value)
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(job_id) AND {_NOT_TERMINAL}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def webhook_target(self, job_id: str) -> WebhookTarget | None:
        """Where the job's terminal events go, if its request asked: only that part of the record."""
        item = self.table.get_item(
            Key={"job_id": job_id},
            ProjectionExpression="#request.webhook",
            ExpressionAttributeNames={"#request": "request"},
        ).get("Item")
        webhook = ((item or {}).get("request") or {}).get("webhook")
        return None if not webhook else WebhookTarget.model_validate(from_dynamo(webhook), context=_STORED)

    # -- listing ------------------------------------------------------------------------------------

    def list_jobs(self, *, status: str | None, limit: int, next_token: str | None) -> JobPage:
        """Newest first: within a status through the ``by-status`` index, all jobs through ``by-created``
        (one constant ``kind``). ``next_token`` must be one this method handed out."""
        kwargs: dict[str, Any] = {"Limit": limit}
        start = _decode_token(next_token, status)
        if start:
            kwargs["ExclusiveStartKey"] = start
        index, name, value = (
            ("by-status", "status", status) if status else ("by-created", "kind", LISTED_KIND)
        )
        answer = self.table.query(
            IndexName=index,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": name},
            ExpressionAttributeValues={":k": value},
            ScanIndexForward=False,
            **kwargs,
        )
        # Segments are listed under their job, not as jobs: the status index has them (their status is
        # a status), so a page can come out shorter than ``limit``; its token still leads on.
        records = [r for r in self._records(answer.get("Items", [])) if r.parent is None]
        return JobPage(records, _encode_token(answer.get("LastEvaluatedKey")))

    def created_before(self, status: str, cutoff: str, page_size: int = 100) -> Iterator[list[JobRecord]]:
        """Jobs in ``status`` created before ``cutoff`` (ISO 8601), oldest first, page after page: the
        reconciler's sweep reads every one, not only the oldest page."""
        kwargs: dict[str, Any] = {}
        while True:
            answer = self.table.query(
                IndexName="by-status",
                KeyConditionExpression="#s = :s AND created_at < :cutoff",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": status, ":cutoff": cutoff},
                Limit=page_size,
                **kwargs,
            )
            yield self._records(answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def many(self, job_ids: list[str]) -> list[JobRecord]:
        """The records of ``job_ids`` that exist, in that order (a job's segments, say)."""
        return self._records([{"job_id": job_id} for job_id in job_ids])

    def _records(self, keys: list[dict[str, Any]]) -> list[JobRecord]:
        """The records an index page names, in its order. The indexes project keys only: a job's item
        is rewritten a dozen times, and an index holding all of it would be rewritten each time too."""
        found: dict[str, dict[str, Any]] = {}
        wanted = [{"job_id": key["job_id"]} for key in keys]
        # The resource's own client: it (de)serialises items as the table does.
        client, name = self.table.meta.client, self.table.name
        for start in range(0, len(wanted), BATCH_GET_MAX):
            pending: dict[str, Any] = {name: {"Keys": wanted[start : start + BATCH_GET_MAX]}}
            while pending:
                answer = client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(name, []):
                    found[item["job_id"]] = item
                pending = answer.get("UnprocessedKeys") or {}
        return [_record(found[key["job_id"]]) for key in keys if key["job_id"] in found]

    # -- batches ------------------------------------------------------------------------------------

    def create_batch(
        self, batch_id: str, *, digest: str, jobs: list[str], line_errors: list[dict[str, Any]], total: int
    ) -> tuple[BatchRecord, bool]:
        """Record the batch unless it exists; returns (record, created)."""
        item = {
            "job_id": batch_id,
            "kind": BATCH_KIND,
            "created_at": iso_now(),
            "digest": digest,
            "jobs": jobs,
            "line_errors": line_errors,
            "total": total,
        }
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(job_id)")
        except ClientError as error:
            if not conditional_failed(error):
                raise
            return self.get_batch(batch_id), False
        return BatchRecord.model_validate(item), True

    def get_batch(self, batch_id: str) -> BatchRecord:
        item = self.table.get_item(Key={"job_id": batch_id}, ConsistentRead=True).get("Item")
        if item is None or item.get("kind") != BATCH_KIND:
            raise BatchNotFoundError(f"no batch {batch_id}")
        return BatchRecord.model_validate(from_dynamo(item))

    def add_ended_job(self, batch_id: str, job_id: str, status: str) -> BatchRecord:
        """Count ``job_id`` as ended with ``status`` on its batch (a set: a repeat counts once)."""
        answer = self.table.update_item(
            Key={"job_id": batch_id},
            UpdateExpression="ADD #set :job",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeNames={"#set": BatchRecord.ENDED_SETS[status]},
            ExpressionAttributeValues={":job": {job_id}},
            ReturnValues="ALL_NEW",
        )
        return BatchRecord.model_validate(from_dynamo(answer["Attributes"]))

    def claim_batch_end(self, batch_id: str, finished_at: str) -> bool:
        """Mark the batch finished once; False when someone already did."""
        try:
            self.table.update_item(
                Key={"job_id": batch_id},
                UpdateExpression="SET finished_at = :at",
                ConditionExpression="attribute_not_exists(finished_at)",
                ExpressionAttributeValues={":at": finished_at},
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def release_batch_end(self, batch_id: str) -> None:
        """Give the claim back (its announcement failed), so that a retried delivery makes it."""
        self.table.update_item(Key={"job_id": batch_id}, UpdateExpression="REMOVE finished_at")


def _encode_token(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(from_dynamo(key)).encode()).decode() if key else None


def _decode_token(token: str | None, status: str | None) -> dict[str, Any] | None:
    """A token ``list_jobs`` handed out, or ``BadPageTokenError``: DynamoDB must never see another shape."""
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
