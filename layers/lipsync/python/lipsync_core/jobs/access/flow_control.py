"""Stack-wide flow control in front of the service, shared by every execution and every Lambda.

The service limits requests per second per action (50429) and unfinished tasks per ``req_key``
(50430). Per-execution backoff cannot respect limits that all executions share, so admission is
decided in one place, a DynamoDB table, with single conditional writes:

- **Rate**: a generic cell rate algorithm (GCRA) per ``(action, req_key)``. The item holds the
  theoretical arrival time ``tat`` of the next request; a caller takes the slot at ``max(now, tat)``
  and moves ``tat`` on by ``1 / rate``, so admitted requests are spaced evenly and never exceed the
  rate in any window. A slot at most ``horizon`` seconds ahead is taken (the caller sleeps until
  it); beyond that the caller is told how long to wait and takes nothing.
- **Unfinished tasks**: a counting semaphore per ``req_key`` whose holders are recorded by id (the
  job's, or issue 20's segment's) in the same item, so taking a slot is exactly once per holder and a
  slot is released exactly once.
- **Task times**: a moving estimate per mode of how long tasks take, which first polls aim at.

Jobs without capacity wait in the line (``access.line``), which the dispatcher (``steps.dispatch``)
admits from when this table's stream says a slot came back.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.jobs.domain.task_times import TaskTimes
from lipsync_core.volc.models import Mode

from .dynamo import conditional_failed

# Requests are admitted at this share of the configured rate: the service measures arrival times,
# which network jitter moves, so we keep a small margin below its limit.
RATE_MARGIN = 0.9
# The longest a Lambda sleeps for a rate slot: the dispatcher admits a job only this close to its slot.
DEFAULT_HORIZON = 2.0
# What the last write to a semaphore item did (``last_change``): the dispatcher's trigger is a release.
ACQUIRED, RELEASED = "acquire", "release"
WAKE_PREFIX = "wake#"  # items whose every write asks for a dispatcher run


class Slot(enum.Enum):
    TAKEN = "taken"  # by this call
    HELD = "held"  # the holder had one already
    FULL = "full"


@dataclass(frozen=True)
class RateSlot:
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

    def admit(self, action: str, mode: Mode) -> RateSlot:
        """A slot for one ``action`` request, at most ``horizon`` seconds ahead, or how long to wait."""
        rate = self.limits.for_mode(mode.value).rate(action) * RATE_MARGIN
        if rate <= 0 or self.table is None:
            return RateSlot(True)
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
            return RateSlot(True, sleep=float(max(Decimal(0), slot - now)), slot=float(slot))
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
            return RateSlot(True, slot=float(now))
        except ClientError as error:
            if not conditional_failed(error):
                raise
        # Too far ahead (or another caller moved it between our two writes): wait, take nothing.
        item = self.table.get_item(Key={"key": key}, ConsistentRead=True).get("Item") or {}
        backlog = float(item.get("tat", now) - now) - self.horizon
        return RateSlot(False, retry_after=max(float(interval), backlog))

    def wait_for(self, action: str, mode: Mode, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until a rate slot for ``action`` is ours (for a step that cannot hand the wait back to
        the state machine, such as CopyResult's fresh result URL)."""
        while not (admission := self.admit(action, mode)).admitted:
            sleep(admission.retry_after)
        sleep(admission.sleep)

    def rate_wait(self, action: str, mode: Mode) -> float:
        """Seconds until a rate slot for ``action`` is within the horizon (0: one can be taken now), read
        without taking anything: a caller that would only be told to wait writes nothing."""
        rate = self.limits.for_mode(mode.value).rate(action)
        if rate <= 0 or self.table is None:
            return 0.0
        item = self.table.get_item(Key={"key": self.rate_key(action, mode.req_key)}).get("Item") or {}
        return max(0.0, float(item.get("tat", 0)) - self.clock() - self.horizon)

    # -- unfinished tasks -------------------------------------------------------------------------

    @staticmethod
    def slots_key(req_key: str) -> str:
        return f"slots#{req_key}"

    def limit(self, mode: Mode) -> int:
        """Unfinished tasks allowed at once for ``mode`` (0: unlimited)."""
        return self.limits.for_mode(mode.value).max_unfinished if self.table is not None else 0

    def take_slot(self, holder: str, mode: Mode) -> Slot:
        """One unfinished-task slot for ``holder``, only if it holds none: ``TAKEN`` by this call,
        already ``HELD`` (by an admission in flight, or a task), or ``FULL``."""
        limit = self.limit(mode)
        if limit <= 0:
            return Slot.TAKEN
        key = self.slots_key(mode.req_key)
        for _ in range(3):
            try:
                self.table.update_item(
                    Key={"key": key},
                    UpdateExpression="SET holders.#holder = :at, last_change = :acquire ADD held :one",
                    ConditionExpression="held < :limit AND attribute_not_exists(holders.#holder)",
                    ExpressionAttributeNames={"#holder": holder},
                    ExpressionAttributeValues={
                        ":at": self._stamp(),
                        ":one": 1,
                        ":limit": limit,
                        ":acquire": ACQUIRED,
                    },
                )
                return Slot.TAKEN
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code not in ("ConditionalCheckFailedException", "ValidationException"):
                    raise
            item = self.table.get_item(Key={"key": key}, ConsistentRead=True).get("Item")
            if item is None or "holders" not in item:
                self._create_slots_item(key)  # first use of this req_key
            elif holder in item["holders"]:
                return Slot.HELD
            elif int(item["held"]) >= limit:
                return Slot.FULL
            # Otherwise the semaphore changed between the write and the read: ask again.
        return Slot.FULL

    def acquire_slot(self, holder: str, mode: Mode) -> bool:
        """Hold one unfinished-task slot for ``holder`` (idempotent: True if it already holds one)."""
        return self.take_slot(holder, mode) is not Slot.FULL

    def _create_slots_item(self, key: str) -> None:
        """The semaphore's attributes, on the first use of a ``req_key``."""
        self.table.update_item(
            Key={"key": key},
            UpdateExpression="SET held = if_not_exists(held, :zero), holders = if_not_exists(holders, :none)",
            ExpressionAttributeValues={":zero": 0, ":none": {}},
        )

    def _stamp(self) -> Decimal:
        return Decimal(str(round(self.clock(), 3)))

    def release_slot(self, holder: str, mode: Mode) -> bool:
        """Give the slot back; True only for the one call that released it. The write says it was a
        release (``last_change``): the table's stream hands that to the dispatcher, which admits the
        next job in the line at once."""
        if self.table is None:
            return False
        try:
            self.table.update_item(
                Key={"key": self.slots_key(mode.req_key)},
                UpdateExpression="REMOVE holders.#holder SET last_change = :release, released_at = :at, "
                "released = :holder ADD held :minus",
                ConditionExpression="attribute_exists(holders.#holder)",
                ExpressionAttributeNames={"#holder": holder},
                ExpressionAttributeValues={
                    ":minus": -1,
                    ":release": RELEASED,
                    ":at": self._stamp(),
                    ":holder": holder,
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in (
                "ConditionalCheckFailedException",
                "ValidationException",
            ):
                return False
            raise
        return True

    def wake(self, mode: Mode) -> None:
        """Ask for another dispatcher run for ``mode`` (through the table's stream): a run that ends while
        the line waits for the submit rate hands over to the next."""
        if self.table is not None:
            self.table.update_item(
                Key={"key": f"{WAKE_PREFIX}{mode.req_key}"},
                UpdateExpression="SET woken_at = :at ADD wakes :one",
                ExpressionAttributeValues={":at": self._stamp(), ":one": 1},
            )

    # -- how long tasks take ----------------------------------------------------------------------

    @staticmethod
    def times_key(req_key: str) -> str:
        return f"times#{req_key}"

    def task_times(self, mode: Mode) -> TaskTimes | None:
        """The moving estimate of how long ``mode``'s tasks take (None before the first ended)."""
        if self.table is None:
            return None
        item = self.table.get_item(Key={"key": self.times_key(mode.req_key)}).get("Item")
        if not item or "seconds" not in item:
            return None
        return TaskTimes(float(item["seconds"]), int(item.get("samples", 1)))

    def record_task_time(self, mode: Mode, seconds: float) -> None:
        """One more ended task in the estimate (read, then written: two tasks ending at once may keep
        only one of their observations, which a moving estimate can afford)."""
        if self.table is None:
            return
        known = self.task_times(mode)
        times = TaskTimes(seconds) if known is None else known.updated(seconds)
        self.table.update_item(
            Key={"key": self.times_key(mode.req_key)},
            UpdateExpression="SET #seconds = :seconds, #samples = :samples",
            ExpressionAttributeNames={"#seconds": "seconds", "#samples": "samples"},
            ExpressionAttributeValues={
                ":seconds": Decimal(str(round(times.seconds, 3))),
                ":samples": times.samples,
            },
        )

    def holders(self, mode: Mode) -> dict[str, float]:
        """Holder -> when it took its slot."""
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
