"""Poll: ask the service, record status and progress, decide how long to wait next.

A paid task is never given up because someone was busy: a poll that gets no rate slot, or that
the service answers with a throttle or an outage, waits longer and asks again; only the job's
deadline ends it. Polls are spread so that all running tasks together use the poll budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from lipsync_core.volc import Mode, VolcClient, VolcTaskFailedError, VolcThrottledError, VolcUnavailableError

from . import metrics as m
from .errors import JobDeadlineExceededError
from .flow_control import POLL, FlowControl, FlowLimits, jittered
from .models import Cursor, JobRequest, JobState
from .presigning import INPUT_UNREACHABLE, could_not_fetch_input
from .settings import Settings
from .store import JobStore

BUSY_FIRST_SECONDS = 5  # after a throttled or failed poll: 5 s, doubling, up to the poll cap


def poll_job(
    state: JobState,
    *,
    store: JobStore,
    volc: VolcClient,
    settings: Settings,
    flow: FlowControl | None = None,
    metrics: m.MetricsSink | None = None,
    now: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Cursor:
    metrics = metrics or m.NoMetrics()
    flow = flow or FlowControl(None, FlowLimits({}))
    now = time.time() if now is None else now
    if state.cursor is None:
        raise ValueError("poll needs the cursor written by submit")
    cursor = state.cursor
    record = store.get(state.job_id)
    deadline = float(record["deadline_epoch"])
    if now >= deadline:
        raise JobDeadlineExceededError(
            f"job {state.job_id} passed its deadline of {settings.job_deadline_seconds} s while the task "
            f"was {cursor.status}"
        )
    mode = Mode.parse(record["mode"])

    def again(seconds: float, busy: int) -> Cursor:
        """The same task, asked again after ``seconds`` (never past the deadline)."""
        wait = max(1, min(round(jittered(seconds)), int(deadline - now) + 1))
        return cursor.model_copy(update={"wait_seconds": wait, "busy": busy})

    admission = flow.admit(POLL, mode)
    if not admission.admitted:
        return again(settings.wait_seconds(admission.retry_after), cursor.busy)
    sleep(admission.sleep)
    aigc_meta = record["request"].get("aigc_meta")
    try:
        result = volc.get_result(mode, cursor.task_id, aigc_meta=aigc_meta)
    except (VolcThrottledError, VolcUnavailableError) as error:
        if isinstance(error, VolcThrottledError):
            metrics.add_metric(m.THROTTLES, "Count", 1)
        backoff = min(settings.poll_policy.max_seconds, BUSY_FIRST_SECONDS * 2**cursor.busy)
        return again(backoff, cursor.busy + 1)
    except VolcTaskFailedError as error:
        flow.release_slot(state.job_id, mode)  # the task is finished, if badly
        request = JobRequest.model_validate(
            record["request"], context={"allow_http": settings.allow_local_urls}
        )
        if not could_not_fetch_input(error, request):
            raise
        # Our URLs may have expired before the service fetched them: resubmit with fresh ones.
        store.record_poll(state.job_id, INPUT_UNREACHABLE, None, cursor.polls + 1, record["status"])
        return cursor.model_copy(update={"status": INPUT_UNREACHABLE, "polls": cursor.polls + 1})
    polls = cursor.polls + 1
    metrics.add_metric(m.POLLS, "Count", 1)
    if result.status == "done":
        flow.release_slot(state.job_id, mode)  # no longer an unfinished task at the service
    store.record_poll(state.job_id, result.status, result.progress, polls, record["status"])

    submitted_at = record.get("attempts", {}).get(str(cursor.attempt), {}).get("submitted_at")
    elapsed = now - datetime.fromisoformat(submitted_at).timestamp() if submitted_at else None
    wait = settings.poll_policy.next_wait(polls, progress=result.progress, elapsed_seconds=elapsed)
    # Under load, each task polls no more often than running tasks / poll budget.
    spacing = settings.wait_seconds(flow.poll_spacing(mode)) if result.status != "done" else 0
    wait = max(1, min(max(wait, round(jittered(spacing, 0.1)) if spacing else 0), int(deadline - now)))
    return Cursor(
        task_id=cursor.task_id,
        attempt=cursor.attempt,
        status=result.status,
        wait_seconds=wait,
        polls=polls,
        progress=result.progress,
        result=asdict(result) if result.status == "done" else None,
    )
