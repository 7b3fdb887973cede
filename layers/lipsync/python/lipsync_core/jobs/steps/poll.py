"""Poll: ask the service, record status and progress, decide how long to wait next.

A paid task is never given up because someone was busy: a poll that gets no rate slot, or that
the service answers with a throttle or an outage, waits longer and asks again; only the job's
deadline ends it. Polls are spread so that all running tasks together use the poll budget. The poll
that finds a task done gives its slot back at once (the dispatcher hands it on) and teaches the mode's
task-time estimate, which the next jobs' first polls aim at (``domain.task_times``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from lipsync_core.jobs.access.presigning import could_not_fetch_input
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.contract import CursorStatus
from lipsync_core.jobs.domain.documents import MAX_CARRIED_RESULT_BYTES
from lipsync_core.jobs.domain.errors import JobDeadlineExceededError
from lipsync_core.jobs.domain.flow_limits import POLL
from lipsync_core.jobs.domain.models import Cursor, JobState
from lipsync_core.jobs.domain.poll_policy import history_floor, jittered
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.task_times import observed_seconds
from lipsync_core.volc import VolcClient, VolcTaskFailedError, VolcThrottledError, VolcUnavailableError

from .context import StepContext

BUSY_FIRST_SECONDS = 5  # after a throttled or failed poll: 5 s, doubling, up to the poll cap


def poll_job(state: JobState, context: StepContext, *, volc: VolcClient) -> Cursor:
    store, settings, flow, metrics = context.store, context.settings, context.flow, context.metrics
    now = context.clock()
    if state.cursor is None:
        raise ValueError("poll needs the cursor written by submit")
    cursor = state.cursor
    record = context.job(state.job_id)
    submission = record.submission(cursor.attempt)
    submitted_at = datetime.fromisoformat(submission.submitted_at).timestamp() if submission else now
    deadline = record.deadline_epoch or int(submitted_at) + settings.job_deadline_seconds
    if now >= deadline:
        raise JobDeadlineExceededError(
            f"job {state.job_id} passed its deadline of {settings.job_deadline_seconds} s while the task "
            f"was {cursor.status}"
        )
    mode = record.mode
    rounds = cursor.rounds + 1
    until_deadline = int(settings.wait_seconds(deadline - now))
    floor = history_floor(rounds, until_deadline, tasks=_tasks_sharing(record, context))

    def again(seconds: float, busy: int) -> Cursor:
        """The same task, asked again after ``seconds`` (never past the deadline)."""
        wait = max(1, round(floor), min(round(jittered(seconds)), until_deadline + 1))
        return cursor.model_copy(update={"wait_seconds": wait, "busy": busy, "rounds": rounds})

    admission = flow.admit(POLL, mode)
    if not admission.admitted:
        return again(settings.wait_seconds(admission.retry_after), cursor.busy)
    context.sleep(admission.sleep)
    try:
        result = volc.get_result(mode, cursor.task_id, aigc_meta=record.request.aigc_meta)
    except (VolcThrottledError, VolcUnavailableError) as error:
        if isinstance(error, VolcThrottledError):
            metrics.add_metric(m.THROTTLES, "Count", 1)
        backoff = min(settings.poll_policy.max_seconds, BUSY_FIRST_SECONDS * 2**cursor.busy)
        return again(backoff, cursor.busy + 1)
    except VolcTaskFailedError as error:
        if not could_not_fetch_input(error, record.request):
            raise  # RecordFailure gives the slot back
        # Our URLs may have expired before the service fetched them: resubmit with fresh ones (the slot
        # stays with the job for its next attempt, as after not_found or expired).
        unreachable = CursorStatus.INPUT_UNREACHABLE
        store.record_poll(state.job_id, unreachable, None, cursor.polls + 1, record.status)
        return cursor.model_copy(update={"status": unreachable, "polls": cursor.polls + 1, "rounds": rounds})
    polls = cursor.polls + 1
    metrics.add_metric(m.POLLS, "Count", 1)
    done = result.status == CursorStatus.DONE
    elapsed = now - submitted_at
    if done:
        flow.release_slot(state.holder, mode)  # no longer an unfinished task at the service
        taken = observed_seconds(
            done_at=elapsed, unfinished_at=cursor.unfinished_at, progress=cursor.progress
        )
        flow.record_task_time(mode, taken)
    store.record_poll(state.job_id, result.status, result.progress, polls, record.status)

    times = flow.task_times(mode) if not done else None
    wait = settings.poll_policy.next_wait(
        polls,
        progress=result.progress,
        elapsed_seconds=settings.wait_seconds(elapsed),
        expected=settings.wait_seconds(times.seconds) if times else None,
    )
    # Under load, each task polls no more often than running tasks / poll budget.
    spacing = settings.wait_seconds(flow.poll_spacing(mode)) if not done else 0
    wait = max(1, min(max(wait, round(jittered(spacing, 0.1)) if spacing else 0), until_deadline))
    wait = max(wait, round(floor))  # the history's quota before latency (at most the deadline)
    return Cursor(
        task_id=cursor.task_id,
        attempt=cursor.attempt,
        status=result.status,
        wait_seconds=wait,
        polls=polls,
        rounds=rounds,
        progress=result.progress,
        unfinished_at=None if done else round(elapsed, 3),
        result=carried(asdict(result)) if done else None,
    )


def _tasks_sharing(record: JobRecord, context: StepContext) -> int:
    """How many tasks share the execution's history: a segment's job's segments, else one."""
    if record.parent is None:
        return 1
    job = context.job(record.parent)
    plan = job.inputs.segments if job.inputs else None
    return len(plan.segments) if plan else 1


def carried(result: dict[str, Any]) -> dict[str, Any] | None:
    """The done answer, if it is small enough to travel in the state (``MAX_CARRIED_RESULT_BYTES``)."""
    size = len(json.dumps(result, separators=(",", ":"), default=str).encode())
    return result if size <= MAX_CARRIED_RESULT_BYTES else None
