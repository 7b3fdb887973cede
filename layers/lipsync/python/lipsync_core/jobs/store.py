"""The job table (DynamoDB): one item per job, every status transition appended to ``history``.

Writes are conditional so that retries and duplicate deliveries cannot move a job backwards, pay
for a second task, or overwrite a terminal status.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .models import TERMINAL_STATUSES, JobRequest

LISTED_KIND = "job"
_NOT_TERMINAL = "NOT #status IN (:succeeded, :failed, :cancelled)"
_TERMINAL_VALUES = {":succeeded": "SUCCEEDED", ":failed": "FAILED", ":cancelled": "CANCELLED"}


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals, as DynamoDB wants."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """Decimals become ints or floats again."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class JobNotFoundError(Exception):
    """The job record does not exist."""


class JobStore:
    def __init__(self, table: Any) -> None:
        self.table = table  # a boto3 DynamoDB Table resource

    def get(self, job_id: str) -> dict[str, Any]:
        item = self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        if item is None:
            raise JobNotFoundError(f"job {job_id} has no record")
        return dict(from_dynamo(item))

    def create(
        self,
        job_id: str,
        request: JobRequest,
        *,
        deadline_epoch: int,
        source: str = "direct",
        status: str = "QUEUED",
        execution_arn: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create the record unless it exists; returns (record, created)."""
        now = iso_now()
        item = {
            "job_id": job_id,
            "kind": LISTED_KIND,  # the partition of the by-created index (every job, newest first)
            "status": status,
            "mode": request.mode.value,
            "request": request.model_dump(mode="json", exclude_none=True),
            "source": source,
            "created_at": now,
            "updated_at": now,
            "deadline_epoch": deadline_epoch,
            "attempt": 0,
            "attempts": {},
            "claims": {},
            "polls": 0,
            "history": [{"status": status, "at": now}],
        }
        if execution_arn:
            item["execution_arn"] = execution_arn
        try:
            self.table.put_item(Item=to_dynamo(item), ConditionExpression="attribute_not_exists(job_id)")
        except ClientError as error:
            if _conditional_failed(error):
                return self.get(job_id), False
            raise
        return item, True

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
            if _conditional_failed(error):
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

    def record_submission(self, job_id: str, attempt: int, task_id: str, request_id: str | None) -> bool:
        """Record the paid task. Returns False when the job ended meanwhile (cancelled): the task is
        still recorded, the terminal status is kept."""
        now = iso_now()
        submission = {"task_id": task_id, "request_id": request_id, "submitted_at": now}
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=(
                    "SET attempts.#n = :submission, attempt = :attempt, task_id = :task, "
                    "#status = :submitted, updated_at = :now, history = list_append(history, :entry) "
                    "REMOVE service_status, progress, waiting"
                ),
                ConditionExpression=_NOT_TERMINAL,
                ExpressionAttributeNames={"#n": str(attempt), "#status": "status"},
                ExpressionAttributeValues={
                    ":submission": submission,
                    ":attempt": attempt,
                    ":task": task_id,
                    ":submitted": "SUBMITTED",
                    ":now": now,
                    ":entry": [{"status": "SUBMITTED", "at": now, "attempt": attempt, "task_id": task_id}],
                    **_TERMINAL_VALUES,
                },
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET attempts.#n = :submission, task_id = :task, updated_at = :now",
                ExpressionAttributeNames={"#n": str(attempt)},
                ExpressionAttributeValues={":submission": submission, ":task": task_id, ":now": now},
            )
            return False
        return True

    def record_waiting(self, job_id: str, *, reason: str, checks: int, position: int) -> None:
        """The job has no slot yet: why, how often it has asked, and how many are ahead of it."""
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET waiting = :waiting, updated_at = :now",
                ConditionExpression=f"attribute_exists(job_id) AND {_NOT_TERMINAL}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":waiting": {"reason": reason, "checks": checks, "position": position, "at": iso_now()},
                    ":now": iso_now(),
                    **_TERMINAL_VALUES,
                },
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def record_poll(
        self, job_id: str, service_status: str, progress: float | None, polls: int, previous_status: str
    ) -> None:
        """Record a poll; the job becomes RUNNING once the service is generating."""
        now = iso_now()
        new_status = "RUNNING" if service_status in ("generating", "done") else previous_status
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
            if not _conditional_failed(error):
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
            if _conditional_failed(exc):
                return False
            raise
        return True
