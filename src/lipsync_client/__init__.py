"""A Python client for the lip-sync jobs API, deployed or local (``lipsync up``)."""

from .client import JobTimeoutError, LipSync, LipSyncError
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = ["JobTimeoutError", "LipSync", "LipSyncError", "WebhookVerificationError", "verify_webhook"]
