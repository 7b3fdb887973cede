"""Stack-wide flow control in front of the service, shared by every execution and every Lambda.

The service limits requests per second per action (50429) and unfinished tasks per ``req_key``
(50430). Per-execution backoff cannot respect limits that all executions share, so admission is
decided in one place, a DynamoDB table, with single conditional writes:

- **Rate**: a generic cell rate algorithm (GCRA) per ``(action, req_key)``. The item holds the
  theoretical arrival time ``tat`` of the next request; a caller takes the slot at ``max(now, tat)``
  and moves ``tat`` on by ``1 / rate``, so admitted requests are spaced evenly and never exceed the
  rate in any window. A slot at most ``horizon`` seconds ahead is taken (the caller sleeps until
  it); beyond that the caller is told how long to wait and takes nothing.
- **Unfinished tasks**: a counting semaphore per ``req_key`` whose holders are recorded by job id
  in the same item, so acquiring is idempotent per job and a slot is released exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.volc.models import Mode

from .dynamo import conditional_failed

# Requests are admitted at this share of the configured rate: the service measures arrival times,
# which network jitter moves, so we keep a small margin below its limit.
RATE_MARGIN = 0.9
# The longest a Lambda sleeps for a rate slot; longer waits go back to the state machine's Wait.
DEFAULT_HORIZON = 2.0


@dataclass(frozen=True)
class Admission:
    """The outcome of asking for a rate slot: admitted at ``slot`` (after ``sleep`` seconds), or wait
    ``retry_after`` seconds and ask again."""

    admitted: bool
    sleep: float = 0.0
    retry_after: float = 0.0
    slot: float = 0.0  # the slot's time (epoch seconds)


class FlowControl:
    """Rate slots and unfinished-task slots, in one DynamoDB table keyed by ``key``."""

    def __init__(
        self,
        table: Any,
        limits: FlowLimits,
        *,
        horizon: float = DEFAULT_HORIZON,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table  # a boto3 DynamoDB Table resource, or None when no limit is set
        self.limits = limits
        self.horizon = horizon
        self.clock = clock

    @classmethod
    def unlimited(cls) -> FlowControl:
        """No table, no limits: every slot is granted (a stack configured without flow control)."""
        return cls(None, FlowLimits({}))

    # -- rate -------------------------------------------------------------------------------------

    @staticmethod
    def rate_key(action: str, req_key: str) -> str:
        return f"rate#{action}#{req_key}"

    def admit(self, action: str, mode: Mode) -> Admission:
        """A slot for one ``action`` request, at most ``horizon`` seconds ahead, or how long to wait."""
        rate = self.limits.for_mode(mode.value).rate(action) * RATE_MARGIN
        if rate <= 0 or self.table is None:
            return Admission(True)
        interval = Decimal(str(round(1 / rate, 6)))
        key = self.rate_key(action, mode.req_key)
        now = Decimal(str(round(self.clock(), 6)))
        try:  # busy: the next slot is in the future, and close enough to take
            answer = self.table.update_item(
                Key={"key": key},
                UpdateExpression="SET tat = tat + :interval",
                ConditionExpression="tat >= :now AND tat <= :latest",
                ExpressionAttributeValues={
                    ":interval": interval,
                    ":now": now,
                    ":latest": now + Decimal(str(self.horizon)),
                },
                ReturnValues="UPDATED_NEW",
            )
            slot = answer["Attributes"]["tat"] - interval
            return Admission(True, sleep=float(max(Decimal(0), slot - now)), slot=float(slot))
        except ClientError as error:
            if not conditional_failed(error):
                raise
        try:  # idle: the slot is now
            self.table.update_item(
                Key={"key": key},
                UpdateExpression="SET tat = :next",
                ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                ExpressionAttributeValues={":next": now + interval, ":now": now},
            )
            return Admission(True, slot=float(now))
        except ClientError as error:
            if not conditional_failed(error):
                raise
        # Too far ahead (or another caller moved it between our two writes): wait, take nothing.
        item = self.table.get_item(Key={"key": key}, ConsistentRead=True).get("Item") or {}
        backlog = float(item.get("tat", now) - now) - self.horizon
        return Admission(False, retry_after=max(float(interval), backlog))

    def wait_for(self, action: str, mode: Mode, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until a rate slot for ``action`` is ours (for a step that cannot hand the wait back to
        the state machine, such as CopyResult's fresh result URL)."""
        while not (admission := self.admit(action, mode)).admitted:
            sleep(admission.retry_after)
        sleep(admission.sleep)

    # -- unfinished tasks -------------------------------------------------------------------------

    @staticmethod
    def slots_key(req_key: str) -> str:
        return f"slots#{req_key}"

    def acquire_slot(self, job_id: str, mode: Mode, ticket: int | None = None) -> bool:
        """Hold one unfinished-task slot for ``job_id`` (idempotent: True if it already holds one).
        A job that waited in line (``ticket``) moves the line on when it gets its slot."""
        limit = self.limits.for_mode(mode.value).max_unfinished
        if limit <= 0 or self.table is None:
            return True
        key = self.slots_key(mode.req_key)
        for _ in range(3):
            try:
                self.table.update_item(
                    Key={"key": key},
                    UpdateExpression="SET holders.#job = :at ADD held :one"
                    + (", served :one" if ticket is not None else ""),
                    ConditionExpression="held < :limit AND attribute_not_exists(holders.#job)",
                    ExpressionAttributeNames={"#job": job_id},
                    ExpressionAttributeValues={":at": self._stamp(), ":one": 1, ":limit": limit},
                )
                return True
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code not in ("ConditionalCheckFailedException", "ValidationException"):
                    raise
            item = self.table.get_item(Key={"key": key}, ConsistentRead=True).get("Item")
            if item is not None and "holders" in item:
                return job_id in item["holders"]  # full, or already ours
            self._create_slots_item(key)  # first use of this req_key
        return False

    def _create_slots_item(self, key: str) -> None:
        """The semaphore's attributes, where a first use (a ticket, say) made the item without them."""
        self.table.update_item(
            Key={"key": key},
            UpdateExpression=(
                "SET held = if_not_exists(held, :zero), holders = if_not_exists(holders, :none), "
                "served = if_not_exists(served, :zero)"
            ),
            ExpressionAttributeValues={":zero": 0, ":none": {}},
        )

    def _stamp(self) -> Decimal:
        return Decimal(str(round(self.clock(), 3)))

    def release_slot(self, job_id: str, mode: Mode) -> bool:
        """Give the slot back; True only for the one call that released it."""
        if self.table is None:
            return False
        key = {"key": self.slots_key(mode.req_key)}
        try:
            old = self.table.update_item(
                Key=key,
                UpdateExpression="REMOVE holders.#job ADD held :minus",
                ConditionExpression="attribute_exists(holders.#job)",
                ExpressionAttributeNames={"#job": job_id},
                ExpressionAttributeValues={":minus": -1},
                ReturnValues="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in (
                "ConditionalCheckFailedException",
                "ValidationException",
            ):
                return False
            raise
        # How long tasks hold their slots, on average (an estimate: concurrent releases may each
        # write theirs); it tells waiting jobs how fast the line moves.
        held_for = self._stamp() - old["holders"][job_id]
        average = old.get("avg_hold")
        average = held_for if average is None else (average * 4 + held_for) / 5
        self.table.update_item(
            Key=key,
            UpdateExpression="SET avg_hold = :average",
            ExpressionAttributeValues={":average": round(average, 3)},
        )
        return True

    # -- the line of waiting jobs ---------------------------------------------------------------------

    def take_ticket(self, mode: Mode) -> int:
        """A place in the line for ``mode``'s service capacity (0 without a table)."""
        if self.table is None:
            return 0
        answer = self.table.update_item(  # ADD makes the item (and the counter) on first use
            Key={"key": self.slots_key(mode.req_key)},
            UpdateExpression="ADD issued :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["issued"])

    def line(self, ticket: int, mode: Mode) -> tuple[int, float]:
        """How many waiting jobs are ahead of ``ticket``, and the real seconds until their turns have
        passed: at the submit rate, or at the rate slots come back (the limit over the average time
        a task holds its slot), whichever is slower. Approximate: a job that gave up waiting still
        counts until the line passes its ticket."""
        if self.table is None:
            return 0, 0.0
        item = self.table.get_item(Key={"key": self.slots_key(mode.req_key)}).get("Item") or {}
        position = max(0, ticket - int(item.get("served", 0)) - 1)
        limits = self.limits.for_mode(mode.value)
        rates = [limits.submit_qps * RATE_MARGIN]
        if limits.max_unfinished and item.get("avg_hold"):
            rates.append(limits.max_unfinished / float(item["avg_hold"]))
        rate = min((r for r in rates if r > 0), default=0.0)
        # Until the jobs ahead have had their turns, and then one more slot for this job's own.
        return position, ((position + 1) / rate if rate > 0 else 0.0)

    def holders(self, mode: Mode) -> dict[str, float]:
        """Job id -> when it took its slot."""
        if self.table is None:
            return {}
        key = {"key": self.slots_key(mode.req_key)}
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        return {job: float(at) for job, at in (item.get("holders") or {}).items()}

    def running(self, mode: Mode) -> int:
        """How many tasks hold a slot (eventually consistent: used for spacing, not for admission)."""
        if self.table is None:
            return 0
        item = self.table.get_item(Key={"key": self.slots_key(mode.req_key)}).get("Item") or {}
        return int(item.get("held", 0))

    def poll_spacing(self, mode: Mode) -> float:
        """Seconds between two polls of one task so that all running tasks together use the poll
        budget without exceeding it: ``running / poll_qps``."""
        rate = self.limits.for_mode(mode.value).poll_qps * RATE_MARGIN
        if rate <= 0:
            return 0.0
        return self.running(mode) / rate
