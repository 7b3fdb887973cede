"""The names the state machine (``infra/workflow.py``) and the Lambdas share, defined once.

A Choice state tests a status the Poll or Submit step wrote, a Retry or Catch matches the class name
of an error a step raised, a rule matches an event's detail type: a string that differs on either
side breaks the workflow silently. Error names are derived from the classes, so a rename cannot leave
a Retry behind.
"""

from __future__ import annotations

from typing import Final, Literal, cast, get_args

from lipsync_core.volc.errors import VolcThrottledError, VolcUnavailableError

from .errors import (
    InputUnreadableError,
    JobDeadlineExceededError,
    JobQueueTimeoutError,
    ResultDownloadError,
    SubmitDeferredError,
    TaskLostError,
)

JobStatus = Literal["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]


class Status:
    """A job's status (the record's ``status``, ``GET /jobs/{id}``, the terminal events), by name."""

    QUEUED, SUBMITTED, RUNNING, SUCCEEDED, FAILED, CANCELLED = cast(tuple[str, ...], get_args(JobStatus))


TERMINAL_STATUSES: frozenset[str] = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
NOT_TERMINAL_STATUSES: tuple[str, ...] = (Status.QUEUED, Status.SUBMITTED, Status.RUNNING)


class CursorStatus:
    """The cursor's ``status`` (``$.cursor.status``), which the ``TaskStatus`` Choice state tests: ours
    first, then the service's task statuses as ``CVGetResult`` answers them."""

    SUBMITTED: Final = "submitted"  # paid for, not polled yet
    INPUT_UNREACHABLE: Final = "input_unreachable"  # the service could not fetch an input we presigned
    IN_QUEUE: Final = "in_queue"
    GENERATING: Final = "generating"
    DONE: Final = "done"
    NOT_FOUND: Final = "not_found"
    EXPIRED: Final = "expired"


class ErrorName:
    """Error names Retry and Catch match: a Lambda error is named by its exception's class."""

    THROTTLED: Final = VolcThrottledError.__name__
    UNAVAILABLE: Final = VolcUnavailableError.__name__
    RESULT_DOWNLOAD: Final = ResultDownloadError.__name__
    TASK_LOST: Final = TaskLostError.__name__
    DEADLINE_EXCEEDED: Final = JobDeadlineExceededError.__name__
    INPUT_UNREADABLE: Final = InputUnreadableError.__name__
    QUEUE_TIMEOUT: Final = JobQueueTimeoutError.__name__
    SUBMIT_DEFERRED: Final = SubmitDeferredError.__name__
    STATES_TIMEOUT: Final = "States.Timeout"  # Step Functions' own: a task ran past its TimeoutSeconds
    LAMBDA_THROTTLED: Final = "Lambda.TooManyRequestsException"  # Lambda's own, not one of ours
    # A function that ran past its timeout, as the Lambda runtime names it to Step Functions.
    LAMBDA_TIMED_OUT: Final = "Sandbox.Timedout"


# What a failure record calls retryable: the errors the state machine retries before giving up.
RETRYABLE_ERRORS: frozenset[str] = frozenset(
    {ErrorName.THROTTLED, ErrorName.UNAVAILABLE, ErrorName.RESULT_DOWNLOAD, ErrorName.SUBMIT_DEFERRED}
)


class FailState:
    """The errors an execution ends with: the workflow's Fail states, and the API's stop on cancel."""

    JOB_FAILED: Final = "LipSyncJobFailed"
    # Last resorts the reconciler acts on: it records the failure, or announces the terminal event.
    FAILURE_NOT_RECORDED: Final = "LipSyncFailureNotRecorded"
    ANNOUNCEMENT_FAILED: Final = "LipSyncAnnouncementFailed"
    JOB_CANCELLED: Final = "LipSyncJobCancelled"  # StopExecution's error when the API cancels


class DetailType:
    """EventBridge detail types: what the stack announces and what its rules match."""

    REQUESTED: Final = "LipSync Job Requested"
    SUCCEEDED: Final = "LipSync Job Succeeded"
    FAILED: Final = "LipSync Job Failed"
    CANCELLED: Final = "LipSync Job Cancelled"
    REJECTED: Final = "LipSync Job Rejected"
    BATCH_FINISHED: Final = "LipSync Batch Finished"
    EXECUTION_STATUS_CHANGE: Final = "Step Functions Execution Status Change"  # AWS's, for reconcile
