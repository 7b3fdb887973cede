"""The Volcengine lip-sync API: V4 signer, client, typed models and errors."""

from .client import DEFAULT_ENDPOINT, VolcClient
from .errors import (
    VolcAuthError,
    VolcContentModerationError,
    VolcError,
    VolcInvalidRequestError,
    VolcSubmitUnconfirmedError,
    VolcTaskFailedError,
    VolcThrottledError,
    VolcUnavailableError,
    VolcUnknownError,
)
from .models import Mode, RequestValidationError, SubmitTaskRequest, SubmitTaskResult, TaskResult
from .signer import Credentials, sign

__all__ = [
    "DEFAULT_ENDPOINT",
    "Credentials",
    "Mode",
    "RequestValidationError",
    "SubmitTaskRequest",
    "SubmitTaskResult",
    "TaskResult",
    "VolcAuthError",
    "VolcClient",
    "VolcContentModerationError",
    "VolcError",
    "VolcInvalidRequestError",
    "VolcSubmitUnconfirmedError",
    "VolcTaskFailedError",
    "VolcThrottledError",
    "VolcUnavailableError",
    "VolcUnknownError",
    "sign",
]
