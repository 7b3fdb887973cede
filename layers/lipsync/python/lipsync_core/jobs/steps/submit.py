"""Submit: turn inputs into URLs the service can fetch, pay for exactly one task per attempt.

A job reaches Submit admitted (``WaitForAdmission``): its unfinished-task slot is held and, where the
stack limits the submit rate, its rate slot reserved (``$.admission.submit_at``). A resubmission (the
service lost the task) keeps the slot of the first attempt and takes a rate slot of its own. The first
paid submission starts the job's deadline, which bounds paid work: time in the line does not count.
"""

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
from lipsync_core.jobs.domain.errors import (
    JobAlreadyFinishedError,
    JobDeadlineExceededError,
    SubmitDeferredError,
    TaskLostError,
)
from lipsync_core.jobs.domain.flow_limits import SUBMIT
from lipsync_core.jobs.domain.models import Cursor, JobState
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.volc import VolcClient, VolcError, VolcSubmitUnconfirmedError, VolcThrottledError

from .context import StepContext

logger = logging.getLogger(__name__)


def submit_job(state: JobState, context: StepContext, *, volc: VolcClient, s3: Any) -> Cursor:
    store, settings, flow = context.store, context.settings, context.flow
    record = context.job(state.job_id)
    if record.terminal:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record.status}")
    request = record.request
    cursor = state.cursor
    attempt = 1 if cursor is None else cursor.attempt + 1
    rounds = 0 if cursor is None else cursor.rounds  # the history's budget covers every submission
    if attempt > settings.max_attempts:
        raise TaskLostError(f"the service lost the task {attempt - 1} times; giving up")
    existing = record.submission(attempt)
    if existing:  # a retry after the task was recorded: do not pay twice
        return _submitted(existing.task_id, attempt, record, context, rounds=rounds)
    if attempt == 1:
        # Refused now rather than after paying: an SDK that cannot write conditionally, an output outside
        # the prefix, or another job's object already there (checked once; the copy's conditional write
        # is what guarantees it).
        require_conditional_writes(s3)
        refuse_taken_output(s3, *output_location(state.job_id, request, settings), state.job_id)
    elif record.deadline_epoch is not None and context.clock() >= record.deadline_epoch:
        raise JobDeadlineExceededError(
            f"job {state.job_id} passed its deadline of {settings.job_deadline_seconds} s before it could "
            f"be submitted again"
        )
    _wait_for_rate_slot(state, record, context)
    if not store.claim_attempt(state.job_id, attempt):
        existing = store.get(state.job_id).submission(attempt)
        if existing:
            return _submitted(existing.task_id, attempt, record, context, rounds=rounds)
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
        if isinstance(error, VolcThrottledError):  # busy (other users of the account): retried
            context.metrics.add_metric(m.THROTTLES, "Count", 1)
        raise
    context.metrics.add_metric(m.SUBMITTED, "Count", 1)
    deadline = int(context.clock()) + settings.job_deadline_seconds
    if not store.record_submission(
        state.job_id, attempt, task.task_id, task.request_id, deadline_epoch=deadline
    ):
        # Cancelled while the task was being submitted: ask the service to drop it, then stop here.
        flow.release_slot(state.holder, request.mode)
        try:
            volc.cancel_task(request.mode, task.task_id)
        except VolcError:
            logger.warning("CVCancelTask failed for a task submitted during cancellation")
        raise JobAlreadyFinishedError(f"job {state.job_id} was cancelled while its task was submitted")
    return _submitted(task.task_id, attempt, record, context, rounds=rounds)


def _wait_for_rate_slot(state: JobState, record: JobRecord, context: StepContext) -> None:
    """Sleep until the submit rate slot the dispatcher reserved, or take one (a resubmission)."""
    admission = state.admission
    if state.cursor is None and admission is not None and admission.submit_at is not None:
        context.sleep(max(0.0, admission.submit_at - context.clock()))
        return
    slot = context.flow.admit(SUBMIT, record.mode)  # admitted at once where the rate is not limited
    if not slot.admitted:
        raise SubmitDeferredError(f"no submit rate slot for {slot.retry_after:.1f} s; asking again shortly")
    context.sleep(slot.sleep)


def _submitted(
    task_id: str, attempt: int, record: JobRecord, context: StepContext, *, rounds: int = 0
) -> Cursor:
    """The cursor after a submission; the first poll aims at the predicted end of the task."""
    times = context.flow.task_times(record.mode)
    settings = context.settings
    expected = settings.wait_seconds(times.seconds) if times else None
    first = min(
        settings.poll_policy.first_wait(expected), int(settings.wait_seconds(settings.job_deadline_seconds))
    )
    return Cursor(
        task_id=task_id, attempt=attempt, status=CursorStatus.SUBMITTED, wait_seconds=first, rounds=rounds
    )
