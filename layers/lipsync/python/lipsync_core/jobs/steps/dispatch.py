"""The dispatcher: hands the service's capacity to the line as soon as there is some.

A run admits the heads of a mode's line while a slot and a submit rate slot are free. Admitting one
holder is: take its unfinished-task slot (only if it holds none: of two runs racing for one holder,
one takes it and the other moves on), reserve its submit rate slot, resume its paused execution with
``SendTaskSuccess`` (a task token is single-use: a second resume is refused), then take it out of the
line. Whatever comes in between is recovered: a holder still in the line that has held its slot for
``STALE_SECONDS`` was being admitted by a run that stopped, and is resumed again (refused harmlessly
if it already was); a token that is refused (the wait timed out, the execution was stopped, the token
was used) leaves the line, and gives its slot back if its job has ended.

Runs are started by what frees capacity (a slot released, through the flow table's stream), by a job
entering the line (the ``WaitForAdmission`` task, which runs one at once), and every minute by a
schedule, the backstop. A line held back by the submit rate frees nothing when a rate slot comes:
a run started by the stream waits for the rate itself, for at most ``budget`` seconds, and a run that
stops for the rate asks for the next (``FlowControl.wake``, which the stream delivers), so a
rate-bound line is admitted at the rate until it is empty.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.access.flow_control import FlowControl, Slot
from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.access.queue import ModeView, mode_view
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.flow_limits import SUBMIT
from lipsync_core.jobs.domain.metrics import MetricsSink, NoMetrics
from lipsync_core.jobs.domain.models import Admission
from lipsync_core.jobs.domain.records import LineEntry
from lipsync_core.volc.models import Mode

logger = logging.getLogger(__name__)
HEADS = 10  # holders read from the head of the line at a time
# A holder that has held its slot this long while still in the line: its admission was interrupted.
STALE_SECONDS = 30.0
RUN_SECONDS = 60.0  # how long a run triggered by a release or the schedule may wait for the submit rate
# SendTaskSuccess's answers for a token that no longer resumes anything: the wait timed out, the
# execution ended, or the token was used (AWS: TaskTimedOut; moto answers InvalidToken for all three).
GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def modes_of(keys: list[str]) -> list[Mode]:
    """The modes whose capacity the flow table's changed items (``slots#…``, ``wake#…``) concern."""
    req_keys = {key.partition("#")[2] for key in keys}
    return [mode for mode in Mode if mode.req_key in req_keys]


class Step(enum.Enum):
    ADMITTED = "admitted"
    PASSED = "passed"  # someone else has it, or it is gone: on to the next holder
    FULL = "full"  # no unfinished-task slot
    RATE = "rate"  # no submit rate slot within reach


@dataclass
class Run:
    """What one run did, and why it stopped (``empty``, ``full``, ``rate`` or ``busy``)."""

    mode: str
    admitted: int = 0
    stopped: str = ""


@dataclass
class Dispatcher:
    line: Line
    flow: FlowControl
    stepfunctions: Any  # a boto3 client
    ended: Callable[[str], bool]  # whether the job of that id has ended (its record is terminal)
    metrics: MetricsSink = field(default_factory=NoMetrics)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def run(self, mode: Mode, *, budget: float = 0.0) -> Run:
        """Admit the heads of ``mode``'s line while there is capacity; wait at most ``budget`` seconds
        for the submit rate."""
        until, run = self.clock() + budget, Run(mode.value)
        while True:
            wait = self.flow.rate_wait(SUBMIT, mode)
            if wait > 0:
                if self.clock() + wait > until:
                    run.stopped = "rate"
                    self.flow.wake(mode)  # a run that may wait takes over (the stream starts it)
                    break
                self.sleep(wait)
                continue
            holders = self.line.heads(mode, HEADS)
            if not holders:
                run.stopped = "empty"
                break
            steps = []
            for holder in holders:
                steps.append(step := self._admit(holder, mode))
                run.admitted += step is Step.ADMITTED
                if step in (Step.FULL, Step.RATE):
                    break
            if steps[-1] is Step.FULL or not ({Step.ADMITTED, Step.RATE} & set(steps)):
                run.stopped = "full" if steps[-1] is Step.FULL else "busy"
                break
        if run.admitted:
            self.metrics.add_metric(m.ADMITTED, "Count", run.admitted)
        return run

    def measure(self, now: float) -> list[ModeView]:
        """The line per mode, and the dashboard's gauges over all modes."""
        views = [mode_view(self.line, self.flow, mode, now) for mode in Mode]
        slots = sum(view.slots for view in views)
        held = sum(view.running for view in views)
        self.metrics.add_metric(m.LINE_LENGTH, "Count", sum(view.waiting for view in views))
        oldest = max((view.oldest_wait_seconds or 0.0 for view in views), default=0.0)
        self.metrics.add_metric(m.OLDEST_WAIT, "Seconds", oldest)
        self.metrics.add_metric(m.SLOTS_HELD, "Count", held)
        if slots:
            self.metrics.add_metric(m.SLOT_UTILISATION, "Percent", round(100 * held / slots, 1))
        return views

    def _admit(self, holder: str, mode: Mode) -> Step:
        entry = self.line.get(holder)
        if entry is None:
            return Step.PASSED  # admitted (or cancelled) since the head was read
        slot = self.flow.take_slot(holder, mode)
        if slot is Slot.FULL:
            return Step.FULL
        if slot is Slot.HELD:
            since = self.flow.holders(mode).get(holder)
            if since is not None and self.clock() - since > STALE_SECONDS:
                logger.warning("resuming an interrupted admission", extra={"holder": holder})
                self._resume(entry, submit_at=None)
            return Step.PASSED
        rate = self.flow.admit(SUBMIT, mode)
        if not rate.admitted:
            self.flow.release_slot(holder, mode)
            return Step.RATE
        limited = self.flow.limits.for_mode(mode.value).submit_qps > 0
        return Step.ADMITTED if self._resume(entry, rate.slot if limited else None) else Step.PASSED

    def _resume(self, entry: LineEntry, submit_at: float | None) -> bool:
        """Resume ``entry``'s execution and take it out of the line; False if its token no longer
        resumes anything (its slot is then given back)."""
        admission = Admission(holder=entry.holder, admitted_at=self.clock(), submit_at=submit_at)
        try:
            self.stepfunctions.send_task_success(taskToken=entry.token, output=admission.model_dump_json())
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in GONE:
                raise
            logger.info("a waiting task is gone", extra={"holder": entry.holder, "code": code})
            self.line.remove(entry.holder, token=entry.token)
            # Its wait timed out or its execution stopped (their failure paths free what the job holds,
            # so the slot is given back if the job has ended), or the token was already used by a run
            # that stopped before taking the entry out: the job runs, and keeps its slot.
            if self.ended(entry.job_id):
                self.flow.release_slot(entry.holder, entry.mode)
            return False
        self.line.remove(entry.holder, token=entry.token)
        return True
