"""``webhooks.deliver``: only the events a job asked for, signed; a host that turned private since
intake (DNS can change) is refused at delivery too. moto plays DynamoDB; the receiver is real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.errors import WebhookDeliveryError
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.webhooks import deliver
from lipsync_core.webhook_signatures import verify_webhook

SECRET = "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"  # 32 letters and digits, as Secrets Manager generates it


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            received.append(
                (dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"])))
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def event(job_id: str, detail_type: str = "LipSync Job Succeeded") -> dict[str, Any]:
    return {
        "id": "0f1e2d3c",
        "time": "2026-11-25T12:00:00Z",
        "detail-type": detail_type,
        "detail": {"job_id": job_id, "status": "SUCCEEDED"},
    }


def test_only_the_events_asked_for_are_delivered_signed(store: JobStore, receiver: Any) -> None:
    url, received = receiver
    local = Settings.model_validate({"JOB_TABLE_NAME": "jobs", "ALLOW_LOCAL_URLS": True})
    store.table.put_item(Item={"job_id": "plain", "request": {"mode": "lite"}})
    store.table.put_item(
        Item={"job_id": "failures", "request": {"webhook": {"url": url, "events": ["failed"]}}}
    )
    store.table.put_item(Item={"job_id": "all", "request": {"webhook": {"url": url}}})
    assert deliver(event("plain"), store=store, settings=local, secret=SECRET) is False
    assert deliver(event("failures"), store=store, settings=local, secret=SECRET) is False
    assert received == []
    assert deliver(event("all"), store=store, settings=local, secret=SECRET) is True
    [(headers, body)] = received
    verify_webhook(headers, body, SECRET)
    assert headers["webhook-id"] == "msg_0f1e2d3c"


def test_a_private_host_is_refused_at_delivery(store: JobStore, receiver: Any) -> None:
    url, received = receiver
    deployed = Settings.model_validate({"JOB_TABLE_NAME": "jobs", "ALLOW_LOCAL_URLS": False})
    store.table.put_item(
        Item={"job_id": "j", "request": {"webhook": {"url": url.replace("http:", "https:")}}}
    )
    with pytest.raises(WebhookDeliveryError, match="non-public address"):
        deliver(event("j"), store=store, settings=deployed, secret=SECRET)
    assert received == []
