"""Submit: turn inputs into URLs the service can fetch, pay for exactly one task per attempt."""

from __future__ import annotations

import logging
from typing import Any

from lipsync_core.jobs.access.outputs import (
    output_location,
    refuse_taken_output,
    require_conditional_writes,
)
from lipsync_core.jobs.access.presigning import input_signer
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.contract import CursorStatus
from lipsync_core.jobs.domain.errors import JobAlreadyFinishedError, JobDeadlineExceededError, TaskLostError
from lipsync_core.jobs.domain.flow_limits import SUBMIT
from lipsync_core.jobs.domain.models import Cursor, JobState
from lipsync_core.jobs.domain.poll_policy import jittered
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.volc import VolcClient, VolcError, VolcSubmitUnconfirmedError, VolcThrottledError

from .context import StepContext

logger = logging.getLogger(__name__)


def submit_job(state: JobState, context: StepContext, *, volc: VolcClient, s3: Any) -> Cursor:
    store, settings, flow = context.store, context.settings, context.flow
    now = context.clock()
    record = context.recorded(state)
    if record.terminal:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record.status}")
    request = record.request
    cursor = state.cursor
    waiting = cursor is not None and cursor.status == CursorStatus.WAITING
    # Refused now rather than after paying: outside the prefix, or another job's object already there
    # (checked once; the copy's conditional write is what guarantees it).
    location = output_location(state.job_id, request, settings)
    if not waiting:
        require_conditional_writes(s3)
        refuse_taken_output(s3, *location, state.job_id)
    attempt = 1 if cursor is None else cursor.attempt if waiting else cursor.attempt + 1
    if attempt > settings.max_attempts:
        raise TaskLostError(f"the service lost the task {attempt - 1} times; giving up")

    def submitted(task_id: str) -> Cursor:
        first_wait = settings.poll_policy.first_seconds
        return Cursor(
            task_id=task_id, attempt=attempt, status=CursorStatus.SUBMITTED, wait_seconds=first_wait
        )

    existing = record.submission(attempt)
    if existing:  # a retry after the task was recorded: do not pay twice
        return submitted(existing.task_id)
    waiter = _Waiter(attempt, cursor if waiting else None, record, context, now)
    if now >= record.deadline_epoch:
        raise JobDeadlineExceededError(
            f"job {state.job_id} reached its deadline of {settings.job_deadline_seconds} s before the "
            f"service had capacity for it ({waiter.reason_so_far()})"
        )
    if not flow.acquire_slot(state.job_id, request.mode, cursor.ticket if waiting and cursor else None):
        return waiter.wait("capacity")
    admission = flow.admit(SUBMIT, request.mode)
    if not admission.admitted:
        return waiter.wait("rate", admission.retry_after)
    context.sleep(admission.sleep)
    if not store.claim_attempt(state.job_id, attempt):
        existing = store.get(state.job_id).submission(attempt)
        if existing:
            return submitted(existing.task_id)
        raise VolcSubmitUnconfirmedError(
            f"attempt {attempt} was started by an earlier invocation that recorded no task; "
            "the task may exist, so it is not submitted again"
        )
    try:
        signer = input_signer(settings, s3, job_id=state.job_id)  # fresh URLs at every attempt
        video, audio = (signer.url(ref) for ref in record.inputs_to_submit)
        task = volc.submit_task(request.mode, video, audio, request.options)
    except VolcSubmitUnconfirmedError:
        raise  # the claim stays: the task may exist
    except BaseException as error:
        store.release_claim(state.job_id, attempt)  # nothing was created: a retry may try again
        if isinstance(error, VolcThrottledError):  # the service is busy (other users of the account)
            context.metrics.add_metric(m.THROTTLES, "Count", 1)
            return waiter.wait("throttled")
        raise
    context.metrics.add_metric(m.SUBMITTED, "Count", 1)
    if not store.record_submission(state.job_id, attempt, task.task_id, task.request_id):
        # Cancelled while the task was being submitted: ask the service to drop it, then stop here.
        flow.release_slot(state.job_id, request.mode)
        try:
            volc.cancel_task(request.mode, task.task_id)
        except VolcError:
            logger.warning("CVCancelTask failed for a task submitted during cancellation")
        raise JobAlreadyFinishedError(f"job {state.job_id} was cancelled while its task was submitted")
    return submitted(task.task_id)


class _Waiter:
    """A job that may not submit yet: how long it waits, and what the record says meanwhile.

    The job takes a ticket (its place in the line) the first time it waits, and sleeps about as long
    as the jobs ahead of it need to get their turns, so a long line costs each waiting job a few
    checks rather than one every few seconds; jitter keeps waiters from waking together.
    """

    def __init__(
        self, attempt: int, cursor: Cursor | None, record: JobRecord, context: StepContext, now: float
    ) -> None:
        self.attempt, self.cursor, self.record, self.context, self.now = attempt, cursor, record, context, now

    def reason_so_far(self) -> str:
        waiting = self.record.waiting
        checks, reason = (waiting.checks, waiting.reason) if waiting else (0, "capacity")
        return f"waited {checks} times, last for {reason}"

    def wait(self, reason: str, at_least: float = 0.0) -> Cursor:
        flow, settings, mode = self.context.flow, self.context.settings, self.record.mode
        checks = (self.cursor.polls if self.cursor else 0) + 1
        ticket = self.cursor.ticket if self.cursor else None
        if ticket is None:
            ticket = flow.take_ticket(mode)
        position, line_seconds = flow.line(ticket, mode)
        seconds = max(
            settings.capacity_wait_first_seconds, settings.wait_seconds(max(at_least, line_seconds))
        )
        # The cap, like the line, is real time (a Wait lasts its seconds times the local time scale).
        seconds = min(jittered(seconds), settings.wait_seconds(settings.capacity_wait_max_seconds))
        seconds = max(1, min(round(seconds), int(self.record.deadline_epoch - self.now) + 1))
        self.context.store.record_waiting(self.record.job_id, reason=reason, checks=checks, position=position)
        return Cursor(
            attempt=self.attempt,
            status=CursorStatus.WAITING,
            wait_seconds=seconds,
            polls=checks,
            ticket=ticket,
        )
