"""Per-job webhooks through ``lipsync up``: the terminal event POSTed to a local receiver, signed
(Standard Webhooks) with the stack's generated key, verified with ``verify_webhook``; a receiver
that answers 500 gets the same message again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from lipsync_client import LipSync, WebhookVerificationError, verify_webhook
from tests.client.conftest import Up
from tests.support.media import Media

pytestmark = [pytest.mark.xdist_group("clients"), pytest.mark.slow]
GUARD_SECONDS = 90  # only against a hung test


class Receiver:
    """Answers 500 to the first ``failures`` deliveries and 204 afterwards; ``taken`` is set on the
    first 2xx."""

    def __init__(self, failures: int = 1) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.taken = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                status = 500 if len(receiver.received) <= failures else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if status == 204:
                    receiver.taken.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/lipsync"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    instance = Receiver(getattr(request, "param", 1))
    instance.thread.start()
    yield instance
    instance.server.shutdown()
    instance.server.server_close()


def webhook_secret(session: Any, up: Up) -> str:
    secrets = session.client("secretsmanager", endpoint_url=up.document["aws"])
    [name] = [s["Name"] for s in secrets.list_secrets()["SecretList"] if s["Name"].startswith("Webhooks")]
    return str(secrets.get_secret_value(SecretId=name)["SecretString"])


def succeeded_with_webhook(up: Up, session: Any, media: Media, receiver: Receiver) -> str:
    """A job that succeeds, its Succeeded event to be POSTed to ``receiver``; its id."""
    client = LipSync(up.api, session=session)
    job_id = str(
        client.submit(
            mode="lite",
            video=media.url("face.mp4"),
            audio=media.url("voice.wav"),
            webhook={"url": receiver.url, "events": ["succeeded"]},
        )["job_id"]
    )
    assert client.wait(job_id, interval=0.1)["status"] == "SUCCEEDED"
    return job_id


def test_a_signed_webhook_is_retried_after_a_500(
    up: Up, session: Any, media: Media, receiver: Receiver
) -> None:
    job_id = succeeded_with_webhook(up, session, media, receiver)
    assert receiver.taken.wait(GUARD_SECONDS), f"delivered {len(receiver.received)} time(s), never taken"

    secret = webhook_secret(session, up)
    (first_headers, first_body), (headers, body) = receiver.received
    assert first_headers["webhook-id"] == headers["webhook-id"]  # the same message, retried
    assert first_body == body
    verify_webhook(headers, body, secret)
    verify_webhook(first_headers, first_body, secret)
    delivered = json.loads(body)
    assert delivered["type"] == "LipSync Job Succeeded"
    assert delivered["data"]["job_id"] == job_id
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(headers, body.replace(job_id.encode(), b"api-tampered"), secret)


@pytest.mark.parametrize("receiver", [99], indirect=True)  # never takes it
def test_a_delivery_that_always_fails_is_kept_where_the_user_reads_it(
    up: Up, session: Any, media: Media, receiver: Receiver
) -> None:
    job_id = succeeded_with_webhook(up, session, media, receiver)
    queue = up.document["failed_deliveries_queue_url"]
    sqs = session.client("sqs", endpoint_url=up.document["aws"])
    # Long polling (not a sleep): the record arrives once Lambda's retries are exhausted.
    arrived = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20, VisibilityTimeout=0)
    assert arrived.get("Messages"), "no failed delivery was kept"

    listed = failed_as_the_banner_says(up)
    [failure] = [f for f in listed if f["job_id"] == job_id]
    assert (failure["event"], failure["tries"]) == ("succeeded", 3)
    assert failure["error"] == "the webhook answered HTTP 500"
    assert len(receiver.received) == 3
    assert failed_as_the_banner_says(up) == listed  # reading keeps them


def failed_as_the_banner_says(up: Up) -> Any:
    """``lipsync webhooks failed --json`` after pasting the banner's exports into a clean shell."""
    from lipsync.commands.up import _banner

    banner = _banner(SimpleNamespace(**up.document), "iam")
    assert f"--secret-id {up.document['webhook_secret_arn']}" in banner  # where the signing key is
    exports = [line for line in banner.splitlines() if line.startswith("export ")]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIPSYNC_"))}
    script = "\n".join([*exports, f"{sys.executable} -m lipsync webhooks failed --json"])
    listed = subprocess.run(["bash", "-c", script], env=clean, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)
