"""Typed errors of the Volcengine lip-sync API.

The class names are the state machine's Retry/Catch vocabulary (Step Functions reports a Lambda
error by its exception class name), so rename them only together with ``infra/``.

Every service code we know is in ``SERVICE_CODES`` with its meaning, where it comes from (the
contract, integrators' reports, or our own reading) and its class; each class has one outcome:

* retryable: ``VolcThrottledError`` (QPS 50429, concurrency 50430), ``VolcUnavailableError``
  (50500, 50501, 5xx, network failures before the request left, read timeouts on queries);
* moderation (terminal, the content was refused): ``VolcContentModerationError``;
* terminal: ``VolcAuthError``, ``VolcInvalidRequestError``, ``VolcTaskFailedError``,
  ``VolcUnknownError``, and ``VolcSubmitUnconfirmedError`` (a submit whose answer was lost: the
  task may exist and be billed, so it is not blindly repeated).

A code missing from the table is classified by its block (502xx invalid request, 5041x moderation,
505xx unavailable) and its HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

SUCCESS_CODE = 10000
AUTH_CODE = 50400
QPS_LIMIT_CODE = 50429
CONCURRENCY_LIMIT_CODE = 50430
INTERNAL_ERROR_CODE = 50500
VIDEO_TOO_LONG_CODE = 50214
INVALID_INPUTS_CODE = 50215
NO_FACE_CODE = 60102
CONTENT_MODERATION_CODES = range(50410, 50420)  # e.g. 50413 "Post Text Risk Not Pass"
INVALID_REQUEST_CODES = range(50200, 50300)  # 50200..50213 documented; the block is reserved

# Gateway-level codes (the ``ResponseMetadata.Error.Code`` strings).
_GATEWAY_AUTH = {
    "SignatureDoesNotMatch",
    "InvalidAccessKey",
    "InvalidAuthorization",
    "InvalidCredential",
    "InvalidSecurityToken",
    "InvalidTimestamp",
    "MissingAuthenticationToken",
    "MissingSignature",
    "AccessDenied",
    "InvalidContentSha256",
}
_GATEWAY_THROTTLED = {"FlowLimitExceeded", "TooManyRequests", "Throttling", "RequestLimitExceeded"}
_GATEWAY_UNAVAILABLE = {"InternalError", "ServiceUnavailable", "InternalServiceError", "ServiceTimeout"}
_GATEWAY_INVALID = {"InvalidActionOrVersion", "InvalidParameter", "MissingParameter", "MissingRequestInfo"}


class VolcError(Exception):
    """Base class. Carries what is needed to diagnose or retry, never credentials."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.request_id = request_id

    def __str__(self) -> str:
        details = [
            f"{name}={value}"
            for name, value in (
                ("code", self.code),
                ("http_status", self.http_status),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description for job records and events."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "code": self.code,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "retryable": self.retryable,
        }


class VolcThrottledError(VolcError):
    """QPS (50429) or concurrency limit reached: back off and retry."""

    retryable = True


class VolcUnavailableError(VolcError):
    """Internal error, 5xx, or a network failure where repeating the request is safe."""

    retryable = True


class VolcAuthError(VolcError):
    """Credentials rejected (50400, 401 such as ``SignatureDoesNotMatch``): fix the secret."""


class VolcInvalidRequestError(VolcError):
    """The service refused the request's content (50200..50213): fix the input."""


class VolcTaskFailedError(VolcError):
    """The task ended without a video (``done`` with a code other than 10000, no face found)."""


class VolcContentModerationError(VolcTaskFailedError):
    """The service's content moderation refused an input (before generating) or the output."""


class VolcUnknownError(VolcError):
    """An answer this client does not understand."""


class VolcSubmitUnconfirmedError(VolcError):
    """A submit was sent but its answer was lost (read timeout, connection dropped).

    The service may have created (and will bill) the task, and it offers no idempotency token, so
    the pipeline does not resubmit on its own: the job fails with this reason and the user decides.
    """


class Outcome(StrEnum):
    """What a code means for the job: try again, give up, or give up because content was refused."""

    RETRYABLE = "retryable"
    TERMINAL = "terminal"
    MODERATION = "moderation"


def outcome_of(error_class: type[VolcError]) -> Outcome:
    if error_class.retryable:
        return Outcome.RETRYABLE
    if issubclass(error_class, VolcContentModerationError):
        return Outcome.MODERATION
    return Outcome.TERMINAL


@dataclass(frozen=True)
class ServiceCode:
    """A code the service answers, what it means, and who says so."""

    code: int
    meaning: str
    error: type[VolcError]
    source: Literal["contract", "integrators", "ours"]

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.error)


def _codes(*codes: ServiceCode) -> dict[int, ServiceCode]:
    return {entry.code: entry for entry in codes}


# "integrators": ../shared/volcengine/README.md, "Limits reported by integrators"; "ours": a reading
# documented in docs/architecture.md (Errors).
SERVICE_CODES: dict[int, ServiceCode] = _codes(
    ServiceCode(50200, "invalid arguments", VolcInvalidRequestError, "contract"),
    ServiceCode(50201, "missing arguments", VolcInvalidRequestError, "contract"),
    ServiceCode(50204, "arguments cannot be parsed", VolcInvalidRequestError, "contract"),
    ServiceCode(50209, "the video is empty", VolcInvalidRequestError, "contract"),
    ServiceCode(50210, "the video cannot be decoded", VolcInvalidRequestError, "contract"),
    ServiceCode(50211, "the video is too large", VolcInvalidRequestError, "contract"),
    ServiceCode(50213, "the request body is too large", VolcInvalidRequestError, "contract"),
    ServiceCode(
        VIDEO_TOO_LONG_CODE,
        "an input is too long (ECVideoTimeTooLong)",
        VolcInvalidRequestError,
        "integrators",
    ),
    ServiceCode(INVALID_INPUTS_CODE, "the inputs are invalid", VolcInvalidRequestError, "integrators"),
    ServiceCode(AUTH_CODE, "authentication failed", VolcAuthError, "contract"),
    ServiceCode(50411, "input content moderation", VolcContentModerationError, "integrators"),
    ServiceCode(50412, "input content moderation", VolcContentModerationError, "integrators"),
    ServiceCode(
        50413, "input content moderation (Post Text Risk Not Pass)", VolcContentModerationError, "integrators"
    ),
    ServiceCode(QPS_LIMIT_CODE, "requests per second over the limit", VolcThrottledError, "contract"),
    ServiceCode(CONCURRENCY_LIMIT_CODE, "unfinished tasks over the limit", VolcThrottledError, "integrators"),
    ServiceCode(INTERNAL_ERROR_CODE, "internal error", VolcUnavailableError, "contract"),
    ServiceCode(50501, "internal error (retried by integrators)", VolcUnavailableError, "integrators"),
    ServiceCode(
        50511,
        "content refused (final for integrators; meaning not reported)",
        VolcContentModerationError,
        "integrators",
    ),
    ServiceCode(
        50512,
        "content refused (final for integrators; meaning not reported)",
        VolcContentModerationError,
        "integrators",
    ),
    ServiceCode(
        50514,
        "content refused (final for integrators; meaning not reported)",
        VolcContentModerationError,
        "integrators",
    ),
    ServiceCode(50516, "output content moderation", VolcContentModerationError, "integrators"),
    ServiceCode(50518, "input content moderation", VolcContentModerationError, "integrators"),
    ServiceCode(
        50520,
        "the task failed (meaning not reported; not retried, a retry may pay again)",
        VolcTaskFailedError,
        "integrators",
    ),
    ServiceCode(NO_FACE_CODE, "no face found in the video", VolcTaskFailedError, "integrators"),
)


def classify_service_code(code: int, http_status: int | None) -> type[VolcError]:
    """Map an envelope ``code`` (and HTTP status) to an error class: the table first, then blocks."""
    known = SERVICE_CODES.get(code)
    if known is not None:
        return known.error
    if http_status in (401, 403):
        return VolcAuthError
    if code in INVALID_REQUEST_CODES:
        return VolcInvalidRequestError
    if code in CONTENT_MODERATION_CODES:
        return VolcContentModerationError
    if 50500 <= code < 50600 or (http_status is not None and http_status >= 500):
        return VolcUnavailableError
    if http_status == 429:
        return VolcThrottledError
    return VolcUnknownError


def classify_gateway_code(code: str, http_status: int | None) -> type[VolcError]:
    """Map a ``ResponseMetadata.Error.Code`` string (and HTTP status) to an error class."""
    if code in _GATEWAY_AUTH or http_status in (401, 403):
        return VolcAuthError
    if code in _GATEWAY_THROTTLED or http_status == 429:
        return VolcThrottledError
    if code in _GATEWAY_UNAVAILABLE or (http_status is not None and http_status >= 500):
        return VolcUnavailableError
    if code in _GATEWAY_INVALID:
        return VolcInvalidRequestError
    return VolcUnknownError


def classify_http_status(http_status: int) -> type[VolcError]:
    """For answers without a readable envelope."""
    if http_status == 429:
        return VolcThrottledError
    if http_status in (401, 403):
        return VolcAuthError
    if http_status >= 500:
        return VolcUnavailableError
    return VolcUnknownError
