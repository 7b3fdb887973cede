"""Workflow errors. As with ``lipsync_core.volc.errors``, class names are Retry/Catch names."""

from __future__ import annotations


class JobError(Exception):
    """Base class; terminal unless the state machine retries the class by name."""


class JobDeadlineExceededError(JobError):
    """The job ran past its deadline (kept under the service's 12-hour task lifetime)."""


class JobAlreadyFinishedError(JobError):
    """The job record is already terminal (for example cancelled): nothing more to do."""


class TaskLostError(JobError):
    """The service lost the task (``not_found``/``expired``) more times than the job may resubmit."""


class ResultUrlRejectedError(JobError):
    """The result URL is not https, or resolves to a private, loopback or link-local address."""


class ResultDownloadError(JobError):
    """Fetching the result failed or was incomplete: retryable, nothing partial was kept."""


class InputNotFoundError(JobError):
    """An S3 input does not exist (or cannot be read by the function)."""


class OutputNotAllowedError(JobError):
    """The requested output is outside the stack's bucket and output prefix."""


class OutputTakenError(JobError):
    """The output key already holds an object another job (or someone else) wrote: never replaced."""
