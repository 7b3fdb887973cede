"""Submit: turn inputs into URLs the service can fetch, pay for exactly one task per attempt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from lipsync_core.volc import Mode, VolcClient, VolcError, VolcSubmitUnconfirmedError, VolcThrottledError

from . import metrics as m
from .copying import output_location, refuse_taken_output
from .errors import JobAlreadyFinishedError, JobDeadlineExceededError, TaskLostError
from .flow_control import SUBMIT, FlowControl, FlowLimits, jittered
from .models import TERMINAL_STATUSES, WAITING, Cursor, JobRequest, JobState
from .presigning import input_signer
from .settings import Settings
from .store import JobStore

logger = logging.getLogger(__name__)


def submit_job(
    state: JobState,
    *,
    store: JobStore,
    volc: VolcClient,
    s3: Any,
    settings: Settings,
    flow: FlowControl | None = None,
    metrics: m.MetricsSink | None = None,
    now: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Cursor:
    metrics = metrics or m.NoMetrics()
    flow = flow or FlowControl(None, FlowLimits({}))
    now = time.time() if now is None else now
    if state.request is not None:
        deadline = int(now) + settings.job_deadline_seconds
        new_request = JobRequest.model_validate(
            state.request, context={"allow_http": settings.allow_local_urls}
        )
        record, _ = store.create(state.job_id, new_request, deadline_epoch=deadline)
    else:
        record = store.get(state.job_id)
    if record["status"] in TERMINAL_STATUSES:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record['status']}")
    request = JobRequest.model_validate(record["request"], context={"allow_http": settings.allow_local_urls})
    cursor = state.cursor
    waiting = cursor is not None and cursor.status == WAITING
    # Refused now rather than after paying: outside the prefix, or another job's object already there
    # (checked once; the copy's conditional write is what guarantees it).
    location = output_location(state.job_id, request, settings)
    if not waiting:
        refuse_taken_output(s3, *location, state.job_id)
    attempt = 1 if cursor is None else cursor.attempt if waiting else cursor.attempt + 1
    if attempt > settings.max_attempts:
        raise TaskLostError(f"the service lost the task {attempt - 1} times; giving up")
    first_wait = settings.poll_policy.first_seconds

    existing = record.get("attempts", {}).get(str(attempt))
    if existing:  # a retry after the task was recorded: do not pay twice
        return Cursor(
            task_id=existing["task_id"], attempt=attempt, status="submitted", wait_seconds=first_wait
        )
    waiter = _Waiter(state.job_id, attempt, cursor if waiting else None, record, store, flow, settings, now)
    if now >= float(record["deadline_epoch"]):
        raise JobDeadlineExceededError(
            f"job {state.job_id} reached its deadline of {settings.job_deadline_seconds} s before the "
            f"service had capacity for it ({waiter.reason_so_far()})"
        )
    if not flow.acquire_slot(state.job_id, request.mode, cursor.ticket if waiting and cursor else None):
        return waiter.wait("capacity")
    admission = flow.admit(SUBMIT, request.mode)
    if not admission.admitted:
        return waiter.wait("rate", admission.retry_after)
    sleep(admission.sleep)
    if not store.claim_attempt(state.job_id, attempt):
        existing = store.get(state.job_id).get("attempts", {}).get(str(attempt))
        if existing:
            return Cursor(
                task_id=existing["task_id"], attempt=attempt, status="submitted", wait_seconds=first_wait
            )
        raise VolcSubmitUnconfirmedError(
            f"attempt {attempt} was started by an earlier invocation that recorded no task; "
            "the task may exist, so it is not submitted again"
        )
    try:
        signer = input_signer(settings, s3, job_id=state.job_id)  # fresh URLs at every attempt
        video, audio = signer.url(request.video), signer.url(request.audio)
        submitted = volc.submit_task(request.mode, video, audio, request.options)
    except VolcSubmitUnconfirmedError:
        raise  # the claim stays: the task may exist
    except BaseException as error:
        store.release_claim(state.job_id, attempt)  # nothing was created: a retry may try again
        if isinstance(error, VolcThrottledError):  # the service is busy (other users of the account)
            metrics.add_metric(m.THROTTLES, "Count", 1)
            return waiter.wait("throttled")
        raise
    metrics.add_metric(m.SUBMITTED, "Count", 1)
    if not store.record_submission(state.job_id, attempt, submitted.task_id, submitted.request_id):
        # Cancelled while the task was being submitted: ask the service to drop it, then stop here.
        flow.release_slot(state.job_id, request.mode)
        try:
            volc.cancel_task(request.mode, submitted.task_id)
        except VolcError:
            logger.warning("CVCancelTask failed for a task submitted during cancellation")
        raise JobAlreadyFinishedError(f"job {state.job_id} was cancelled while its task was submitted")
    return Cursor(task_id=submitted.task_id, attempt=attempt, status="submitted", wait_seconds=first_wait)


class _Waiter:
    """A job that may not submit yet: how long it waits, and what the record says meanwhile.

    The job takes a ticket (its place in the line) the first time it waits, and sleeps about as long
    as the jobs ahead of it need to get their turns, so a long line costs each waiting job a few
    checks rather than one every few seconds; jitter keeps waiters from waking together.
    """

    def __init__(
        self,
        job_id: str,
        attempt: int,
        cursor: Cursor | None,
        record: dict[str, Any],
        store: JobStore,
        flow: FlowControl,
        settings: Settings,
        now: float,
    ) -> None:
        self.job_id, self.attempt, self.cursor, self.record = job_id, attempt, cursor, record
        self.store, self.flow, self.settings, self.now = store, flow, settings, now

    def reason_so_far(self) -> str:
        waiting = self.record.get("waiting") or {}
        return f"waited {waiting.get('checks', 0)} times, last for {waiting.get('reason', 'capacity')}"

    def wait(self, reason: str, at_least: float = 0.0) -> Cursor:
        mode = Mode.parse(self.record["mode"])
        checks = (self.cursor.polls if self.cursor else 0) + 1
        ticket = self.cursor.ticket if self.cursor else None
        if ticket is None:
            ticket = self.flow.take_ticket(mode)
        position, line_seconds = self.flow.line(ticket, mode)
        seconds = max(
            self.settings.capacity_wait_first_seconds, self.settings.wait_seconds(max(at_least, line_seconds))
        )
        # The cap, like the line, is real time (a Wait lasts its seconds times the local time scale).
        seconds = min(jittered(seconds), self.settings.wait_seconds(self.settings.capacity_wait_max_seconds))
        seconds = max(1, min(round(seconds), int(float(self.record["deadline_epoch"]) - self.now) + 1))
        self.store.record_waiting(self.job_id, reason=reason, checks=checks, position=position)
        return Cursor(attempt=self.attempt, status=WAITING, wait_seconds=seconds, polls=checks, ticket=ticket)
