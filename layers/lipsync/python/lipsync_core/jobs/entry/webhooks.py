"""Per-job webhooks: a request may carry ``webhook: {url, events}``; each of the job's terminal events
it asks for is POSTed there, signed as the Standard Webhooks spec says (``webhook-id`` is the
EventBridge event's id, the same on every retry, so receivers can drop repeats).

The URL gets the result URLs' SSRF checks twice: at intake (a clear rejection) and at delivery
(resolved again, every address public, the connection pinned to the checked address). A failed
delivery raises, so Lambda's asynchronous retries (with backoff) try again, and then its
failure destination keeps the event.
"""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3

from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.access.result_urls import UrlPolicy, check_url, pinned_request
from lipsync_core.jobs.domain.contract import DetailType
from lipsync_core.jobs.domain.errors import (
    RequestRejectedError,
    ResultDownloadError,
    ResultUrlRejectedError,
    WebhookDeliveryError,
)
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.webhook_signatures import sign

KINDS = {DetailType.SUCCEEDED: "succeeded", DetailType.FAILED: "failed", DetailType.CANCELLED: "cancelled"}
SECRET_ENV = "WEBHOOK_SECRET_ID"  # noqa: S105 - the name of a variable holding an ARN


def url_policy(settings: Settings) -> UrlPolicy:
    return UrlPolicy(
        allow_local=settings.allow_local_urls, connect_timeout=5.0, read_timeout=10.0, subject="webhook"
    )


def check_target(request: JobRequest, settings: Settings) -> None:
    """At intake: an https URL whose host resolves to public addresses only."""
    if request.webhook is None:
        return
    try:
        check_url(request.webhook.url, url_policy(settings))
    except (ResultUrlRejectedError, ResultDownloadError) as error:
        raise RequestRejectedError.on_field("webhook.url", str(error)) from None


def payload(event: dict[str, Any]) -> bytes:
    """The Standard Webhooks body: ``type``, ``timestamp`` and the event's detail as ``data``."""
    document = {"type": event["detail-type"], "timestamp": event.get("time"), "data": event["detail"]}
    return json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")


def deliver(event: dict[str, Any], *, store: JobStore, settings: Settings, secret: str) -> bool:
    """POST one terminal event to its job's webhook, if it asked for it. True when delivered."""
    kind = KINDS.get(str(event.get("detail-type")))
    job_id = str((event.get("detail") or {}).get("job_id", ""))
    if kind is None or not job_id:
        return False
    webhook = store.webhook_target(job_id)
    if webhook is None or kind not in webhook.events:
        return False
    body = payload(event)
    msg_id = f"msg_{event['id']}"
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lipsync-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    try:
        response = pinned_request("POST", webhook.url, url_policy(settings), body=body, headers=headers)
    except (ResultUrlRejectedError, ResultDownloadError) as error:
        raise WebhookDeliveryError(str(error)) from None
    except urllib3.exceptions.HTTPError as error:
        raise WebhookDeliveryError(f"the webhook could not be reached: {type(error).__name__}") from None
    status = int(response.status)
    response.drain_conn()
    response.release_conn()
    if not 200 <= status < 300:
        raise WebhookDeliveryError(f"the webhook answered HTTP {status}")
    return True
