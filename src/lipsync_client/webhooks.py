"""Standard Webhooks signatures, for receivers of the stack's webhooks: the stack signs with the very
same code (``lipsync_core.webhook_signatures``, in its Lambda layer)."""

from lipsync_core.webhook_signatures import (
    SECRET_PREFIX,
    TOLERANCE_SECONDS,
    WebhookVerificationError,
    sign,
    verify_webhook,
)

__all__ = ["SECRET_PREFIX", "TOLERANCE_SECONDS", "WebhookVerificationError", "sign", "verify_webhook"]
