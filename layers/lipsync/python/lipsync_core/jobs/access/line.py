"""The line: who waits for the service's capacity, in order. One item per waiting holder (a job, or
issue 20's segment of one) in the job table, keyed ``line#<holder>``, and a sparse index over them
(``by-line``: partition the mode, sort ``<priority rank>#<entered at>#<holder>``), so the head of a
mode's line is one Query, and the jobs ahead of one are a count over the same index.

A waiting holder costs this item and nothing periodic: its execution is paused on a task token
(``WaitForAdmission``), which the entry keeps until the dispatcher (``steps.dispatch``) resumes it.
This module is the only code that writes these items (the job records are ``job_store``'s).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.models import PRIORITIES, Priority
from lipsync_core.jobs.domain.records import LineEntry
from lipsync_core.volc.models import Mode

from .dynamo import conditional_failed, from_dynamo

PREFIX = "line#"
INDEX = "by-line"
RANKS: dict[Priority, str] = {priority: str(rank) for rank, priority in enumerate(PRIORITIES)}


def entry_key(holder: str) -> dict[str, str]:
    return {"job_id": f"{PREFIX}{holder}"}


def order(entry: LineEntry) -> str:
    """The entry's place: higher priorities first, then first in, first out (the holder breaks ties)."""
    return f"{RANKS[entry.priority]}#{entry.enqueued_at}#{entry.holder}"


class Line:
    def __init__(self, table: Any) -> None:
        self.table = table  # the job table, a boto3 Table resource

    def enter(self, entry: LineEntry) -> LineEntry:
        """Put ``entry`` in the line. A holder already there keeps its place and priority and takes the
        new token (a retried ``WaitForAdmission`` brings a new one)."""
        answer = self.table.update_item(
            Key=entry_key(entry.holder),
            UpdateExpression=(
                "SET #holder = :holder, #job = :job, #mode = :mode, #token = :token, #line = :mode, "
                "#priority = if_not_exists(#priority, :priority), "
                "enqueued_at = if_not_exists(enqueued_at, :at), "
                "line_order = if_not_exists(line_order, :order)"
            ),
            # Each name an alias: several are DynamoDB's reserved words (token, mode).
            ExpressionAttributeNames={
                "#holder": "holder",
                "#job": "job",
                "#mode": "mode",
                "#token": "token",
                "#line": "line",
                "#priority": "priority",
            },
            ExpressionAttributeValues={
                ":holder": entry.holder,
                ":job": entry.job_id,
                ":mode": entry.mode.value,
                ":token": entry.token,
                ":priority": entry.priority,
                ":at": entry.enqueued_at,
                ":order": order(entry),
            },
            ReturnValues="ALL_NEW",
        )
        return _entry(answer["Attributes"])

    def get(self, holder: str) -> LineEntry | None:
        item = self.table.get_item(Key=entry_key(holder), ConsistentRead=True).get("Item")
        return _entry(item) if item else None

    def heads(self, mode: Mode, limit: int) -> list[str]:
        """The first ``limit`` holders of ``mode``'s line, in the order they are admitted."""
        answer = self.table.query(
            IndexName=INDEX,
            KeyConditionExpression="#line = :mode",
            ExpressionAttributeNames={"#line": "line"},
            ExpressionAttributeValues={":mode": mode.value},
            Limit=limit,
        )
        return [item["job_id"].removeprefix(PREFIX) for item in answer.get("Items", [])]

    def remove(self, holder: str, *, token: str | None = None) -> bool:
        """Take ``holder`` out of the line (only if it still waits with ``token``, when given); True if
        this call did."""
        condition, extra = "attribute_exists(job_id)", {}
        if token is not None:
            condition += " AND #token = :token"
            extra = {
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":token": token},
            }
        try:
            self.table.delete_item(Key=entry_key(holder), ConditionExpression=condition, **extra)
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def ahead_of(self, entry: LineEntry) -> int:
        """How many wait ahead of ``entry`` in its mode's line."""
        return self._count("#line = :mode AND line_order < :order", entry.mode, {":order": order(entry)})

    def waiting(self, mode: Mode, priority: Priority) -> tuple[int, str | None]:
        """How many wait in ``mode``'s line at ``priority``, and since when the first of them waits."""
        condition = "#line = :mode AND begins_with(line_order, :rank)"
        values = {":rank": f"{RANKS[priority]}#"}
        first = next(self._pages(condition, mode, values, Limit=1), {}).get("Items", [])
        oldest = first[0]["line_order"].split("#")[1] if first else None
        return (self._count(condition, mode, values) if oldest else 0), oldest

    def _count(self, condition: str, mode: Mode, values: dict[str, str]) -> int:
        return sum(page["Count"] for page in self._pages(condition, mode, values, Select="COUNT"))

    def _pages(
        self, condition: str, mode: Mode, values: dict[str, str], **options: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a query of ``mode``'s line (a count over a long line needs several)."""
        kwargs: dict[str, Any] = {
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#line": "line"},
            "ExpressionAttributeValues": {":mode": mode.value, **values},
            **options,
        }
        while True:
            page = self.table.query(**kwargs)
            yield page
            if "LastEvaluatedKey" not in page or "Limit" in options:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _entry(item: dict[str, Any]) -> LineEntry:
    value = from_dynamo(item)
    return LineEntry.model_validate({**value, "job_id": value["job"]})
