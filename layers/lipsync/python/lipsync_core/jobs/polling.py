"""Poll: ask the service, record status and progress, decide how long to wait next."""

from __future__ import annotations

import time
from datetime import datetime

from lipsync_core.volc import VolcClient, VolcTaskFailedError, VolcThrottledError

from . import metrics as m
from .errors import JobDeadlineExceededError
from .models import Cursor, JobRequest, JobState
from .presigning import INPUT_UNREACHABLE, could_not_fetch_input
from .settings import Settings
from .store import JobStore


def poll_job(
    state: JobState,
    *,
    store: JobStore,
    volc: VolcClient,
    settings: Settings,
    metrics: m.MetricsSink | None = None,
    now: float | None = None,
) -> Cursor:
    metrics = metrics or m.NoMetrics()
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
    aigc_meta = record["request"].get("aigc_meta")
    try:
        result = volc.get_result(record["mode"], cursor.task_id, aigc_meta=aigc_meta)
    except VolcThrottledError:
        metrics.add_metric(m.THROTTLES, "Count", 1)
        raise
    except VolcTaskFailedError as error:
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
    store.record_poll(state.job_id, result.status, result.progress, polls, record["status"])

    submitted_at = record.get("attempts", {}).get(str(cursor.attempt), {}).get("submitted_at")
    elapsed = now - datetime.fromisoformat(submitted_at).timestamp() if submitted_at else None
    wait = settings.poll_policy.next_wait(polls, progress=result.progress, elapsed_seconds=elapsed)
    wait = max(1, min(wait, int(deadline - now)))  # wake up in time to enforce the deadline
    return Cursor(
        task_id=cursor.task_id,
        attempt=cursor.attempt,
        status=result.status,
        wait_seconds=wait,
        polls=polls,
        progress=result.progress,
    )
