"""Every error of the job domain.

Workflow errors (``JobError``) name themselves to Step Functions: as with ``lipsync_core.volc.errors``,
class names are the Retry/Catch vocabulary (``contract.ErrorName`` derives the names it uses from
these classes). The others are how a request or a lookup fails at the entry side; the API answers
each with its own status (``functions/api/handler.py``).
"""

from __future__ import annotations

from typing import Any

# -- the workflow ------------------------------------------------------------------------------------


class JobError(Exception):
    """Base class; terminal unless the state machine retries the class by name."""


class JobDeadlineExceededError(JobError):
    """The job ran past its deadline (kept under the service's 12-hour task lifetime)."""


class JobQueueTimeoutError(JobError):
    """The job waited in the line longer than ``max_queue_seconds``: it ends unpaid."""


class SubmitDeferredError(JobError):
    """No submit rate slot within reach yet (a resubmission): retried shortly, like a throttle."""


class JobAlreadyFinishedError(JobError):
    """The job record is already terminal (for example cancelled): nothing more to do."""


class TaskLostError(JobError):
    """The service lost the task (``not_found``/``expired``) more times than the job may resubmit."""


class ResultUrlRejectedError(JobError):
    """The result URL is not https, or resolves to a private, loopback or link-local address."""


class ResultDownloadError(JobError):
    """Fetching the result failed or was incomplete: retryable, nothing partial was kept."""


class ResultUrlExpiredError(ResultDownloadError):
    """The URL answered 403/404: it expired; a fresh one from ``CVGetResult`` will do."""


class InputNotFoundError(JobError):
    """An S3 input does not exist (or cannot be read by the function)."""


class InputRefusedError(JobError):
    """An input the service cannot take (no video or audio stream, undecodable, a voice too long for
    any segmenting), found by probing it before anything was paid for."""


class InputUnreadableError(JobError):
    """An input that could not be read to probe it (gone, forbidden, a server without ranges)."""


class OutputNotAllowedError(JobError):
    """The requested output is outside the stack's bucket and output prefix."""


class SdkTooOldError(JobError):
    """The runtime's botocore cannot send S3's conditional writes, which keep results their job's own."""


class OutputTakenError(JobError):
    """The output key already holds an object another job (or someone else) wrote: never replaced."""


class SegmentsJoinError(JobError):
    """The segments' results cannot be joined into one video (a result whose frames do not fit its
    piece of the voice, or a segment without a result): not retried."""


# -- documents and requests ----------------------------------------------------------------------------


class DocumentRejectedError(ValueError):
    """A document that cannot be accepted; ``field`` says where (dotted path, or ``(request)``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Field by field, as ``RequestRejectedError`` says it."""
        return [{"field": self.field, "message": self.message}]


class DocumentTooLargeError(DocumentRejectedError):
    """The document is larger than its limit (an HTTP 413)."""


class RequestRejectedError(Exception):
    """The request cannot become a job; ``errors`` say why, field by field."""

    def __init__(self, reason: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []

    @classmethod
    def from_document(cls, error: DocumentRejectedError) -> RequestRejectedError:
        return cls(f"invalid job request: {error}", error.errors)

    @classmethod
    def on_field(cls, field: str, reason: str) -> RequestRejectedError:
        """A rejection that one field explains."""
        return cls(reason, [{"field": field, "message": reason}])


class JobConflictError(Exception):
    """The job id is already used by a different request."""


# -- lookups and state -----------------------------------------------------------------------------


class JobNotFoundError(Exception):
    """The job record does not exist."""


class BatchNotFoundError(Exception):
    """The batch record does not exist."""


class JobStateConflictError(Exception):
    """The job cannot do that now (for example: cancel a finished job)."""


class BadPageTokenError(ValueError):
    """A listing's ``next_token`` that this API did not hand out."""


class WebhookDeliveryError(Exception):
    """The receiver did not take the event (retried, then kept)."""
