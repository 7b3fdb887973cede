"""Poll: ask the service, record status and progress, decide how long to wait next.

A paid task is never given up because someone was busy: a poll that gets no rate slot, or that
the service answers with a throttle or an outage, waits longer and asks again; only the job's
deadline ends it. Polls are spread so that all running tasks together use the poll budget.
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
from lipsync_core.jobs.domain.poll_policy import jittered
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
    deadline = record.deadline_epoch
    if now >= deadline:
        raise JobDeadlineExceededError(
            f"job {state.job_id} passed its deadline of {settings.job_deadline_seconds} s while the task "
            f"was {cursor.status}"
        )
    mode = record.mode

    def again(seconds: float, busy: int) -> Cursor:
        """The same task, asked again after ``seconds`` (never past the deadline)."""
        wait = max(1, min(round(jittered(seconds)), int(deadline - now) + 1))
        return cursor.model_copy(update={"wait_seconds": wait, "busy": busy})

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
        flow.release_slot(state.job_id, mode)  # the task is finished, if badly
        if not could_not_fetch_input(error, record.request):
            raise
        # Our URLs may have expired before the service fetched them: resubmit with fresh ones.
        unreachable = CursorStatus.INPUT_UNREACHABLE
        store.record_poll(state.job_id, unreachable, None, cursor.polls + 1, record.status)
        return cursor.model_copy(update={"status": unreachable, "polls": cursor.polls + 1})
    polls = cursor.polls + 1
    metrics.add_metric(m.POLLS, "Count", 1)
    done = result.status == CursorStatus.DONE
    if done:
        flow.release_slot(state.job_id, mode)  # no longer an unfinished task at the service
    store.record_poll(state.job_id, result.status, result.progress, polls, record.status)

    submission = record.submission(cursor.attempt)
    elapsed = now - datetime.fromisoformat(submission.submitted_at).timestamp() if submission else None
    wait = settings.poll_policy.next_wait(polls, progress=result.progress, elapsed_seconds=elapsed)
    # Under load, each task polls no more often than running tasks / poll budget.
    spacing = settings.wait_seconds(flow.poll_spacing(mode)) if not done else 0
    wait = max(1, min(max(wait, round(jittered(spacing, 0.1)) if spacing else 0), int(deadline - now)))
    return Cursor(
        task_id=cursor.task_id,
        attempt=cursor.attempt,
        status=result.status,
        wait_seconds=wait,
        polls=polls,
        progress=result.progress,
        result=carried(asdict(result)) if done else None,
    )


def carried(result: dict[str, Any]) -> dict[str, Any] | None:
    """The done answer, if it is small enough to travel in the state (``MAX_CARRIED_RESULT_BYTES``)."""
    size = len(json.dumps(result, separators=(",", ":"), default=str).encode())
    return result if size <= MAX_CARRIED_RESULT_BYTES else None
