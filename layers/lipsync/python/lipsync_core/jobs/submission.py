"""Submit: turn inputs into URLs the service can fetch, pay for exactly one task per attempt."""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.volc import VolcClient, VolcError, VolcSubmitUnconfirmedError, VolcThrottledError

from . import metrics as m
from .copying import output_location, refuse_taken_output
from .errors import InputNotFoundError, JobAlreadyFinishedError, TaskLostError
from .models import TERMINAL_STATUSES, Cursor, JobRequest, JobState, MediaRef
from .settings import Settings
from .store import JobStore

logger = logging.getLogger(__name__)


def input_url(ref: MediaRef, s3: Any, expires_in: int) -> str:
    """A URL for the service: the given https URL, or a presigned GET for an S3 object."""
    if ref.url is not None:
        return ref.url
    assert ref.s3 is not None
    params = {"Bucket": ref.s3.bucket, "Key": ref.s3.key}
    if ref.s3.version_id:
        params["VersionId"] = ref.s3.version_id
    try:
        s3.head_object(**params)
    except ClientError as error:
        raise InputNotFoundError(
            f"{ref.s3.uri} cannot be read: {error.response['Error'].get('Code')}"
        ) from None
    return str(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))


def submit_job(
    state: JobState,
    *,
    store: JobStore,
    volc: VolcClient,
    s3: Any,
    settings: Settings,
    metrics: m.MetricsSink | None = None,
) -> Cursor:
    metrics = metrics or m.NoMetrics()
    if state.request is not None:
        deadline = int(time.time()) + settings.job_deadline_seconds
        new_request = JobRequest.model_validate(
            state.request, context={"allow_http": settings.allow_local_urls}
        )
        record, _ = store.create(state.job_id, new_request, deadline_epoch=deadline)
    else:
        record = store.get(state.job_id)
    if record["status"] in TERMINAL_STATUSES:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record['status']}")
    request = JobRequest.model_validate(record["request"], context={"allow_http": settings.allow_local_urls})
    # Refused now rather than after paying: outside the prefix, or another job's object already there.
    refuse_taken_output(s3, *output_location(state.job_id, request, settings), state.job_id)
    attempt = 1 if state.cursor is None else state.cursor.attempt + 1
    if attempt > settings.max_attempts:
        raise TaskLostError(f"the service lost the task {attempt - 1} times; giving up")
    first_wait = settings.poll_policy.first_seconds

    existing = record.get("attempts", {}).get(str(attempt))
    if existing:  # a retry after the task was recorded: do not pay twice
        return Cursor(
            task_id=existing["task_id"], attempt=attempt, status="submitted", wait_seconds=first_wait
        )
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
        video = input_url(request.video, s3, settings.presign_seconds)
        audio = input_url(request.audio, s3, settings.presign_seconds)
        submitted = volc.submit_task(request.mode, video, audio, request.options)
    except VolcSubmitUnconfirmedError:
        raise  # the claim stays: the task may exist
    except BaseException as error:
        store.release_claim(state.job_id, attempt)  # nothing was created: a retry may try again
        if isinstance(error, VolcThrottledError):
            metrics.add_metric(m.THROTTLES, "Count", 1)
        raise
    metrics.add_metric(m.SUBMITTED, "Count", 1)
    if not store.record_submission(state.job_id, attempt, submitted.task_id, submitted.request_id):
        # Cancelled while the task was being submitted: ask the service to drop it, then stop here.
        try:
            volc.cancel_task(request.mode, submitted.task_id)
        except VolcError:
            logger.warning("CVCancelTask failed for a task submitted during cancellation")
        raise JobAlreadyFinishedError(f"job {state.job_id} was cancelled while its task was submitted")
    return Cursor(task_id=submitted.task_id, attempt=attempt, status="submitted", wait_seconds=first_wait)
