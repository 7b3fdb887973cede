"""The two signature checks: Standard Webhooks (``verify_webhook``) and SigV4 as the local API checks
it (``lipsync.local.sigv4``, recomputed with botocore's signer)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lipsync.local.sigv4 import SignatureError, verify
from lipsync_client import WebhookVerificationError, verify_webhook
from lipsync_client.webhooks import sign

# The Standard Webhooks reference libraries' own test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str = SIGNATURE, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {"Webhook-Id": MSG_ID, "Webhook-Timestamp": str(timestamp), "Webhook-Signature": signature}


def test_the_reference_vector_signs_and_verifies() -> None:
    assert sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE
    verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP + 10)
    verify_webhook(headers(f"v1,bm9wZQ== {SIGNATURE}"), BODY.encode(), SECRET, now=TIMESTAMP)  # rotation


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": BODY.replace("2432232314", "2432232315")}, "no signature matches"),
        ({"secret": "whsec_" + base64.b64encode(b"another secret").decode()}, "no signature matches"),
        ({"now": TIMESTAMP + 301}, "too old or too new"),
        ({"now": TIMESTAMP - 301}, "too old or too new"),
        ({"headers": {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP)}}, "webhook-signature"),
        ({"headers": headers("v2," + SIGNATURE[3:])}, "no signature matches"),
        ({"headers": headers(timestamp=TIMESTAMP + 1)}, "no signature matches"),
    ],
)
def test_a_tampered_or_stale_webhook_fails(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"headers": headers(), "body": BODY, "secret": SECRET, "now": TIMESTAMP}
    arguments.update(change)
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(
            arguments["headers"],  # type: ignore[arg-type]
            arguments["body"],  # type: ignore[arg-type]
            arguments["secret"],  # type: ignore[arg-type]
            now=arguments["now"],  # type: ignore[arg-type]
        )


URL = "http://127.0.0.1:3000/jobs?status=RUNNING&limit=5"


def signed(
    secret: str = "local", url: str = URL, body: bytes = b'{"a": 1}', token: str | None = None
) -> tuple[dict[str, str], bytes]:
    """Signed the way the client signs (requests prepares, botocore signs)."""
    from lipsync_client.client import _SigV4

    credentials = Credentials("AKIDANY", secret, token)
    prepared = requests.Request(
        "POST", url, data=body, headers={"Content-Type": "application/json"}
    ).prepare()
    _SigV4(credentials.get_frozen_credentials, "us-east-1")(prepared)
    headers = {**prepared.headers, "Host": "127.0.0.1:3000"}
    return {k: str(v) for k, v in headers.items()}, body


def test_a_signature_made_with_the_secret_verifies_whatever_the_key_id() -> None:
    headers, body = signed()
    assert verify("POST", URL, headers, body, secret_access_key="local") == "AKIDANY"
    headers, body = signed(token="session-token")
    assert verify("POST", URL, headers, body, secret_access_key="local") == "AKIDANY"


def test_botocore_signing_directly_also_verifies() -> None:
    request = AWSRequest(method="GET", url=URL, headers={"Host": "127.0.0.1:3000"})
    SigV4Auth(Credentials("K", "local"), "execute-api", "eu-west-1").add_auth(request)
    assert verify("GET", URL, dict(request.headers.items()), None, secret_access_key="local") == "K"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda h, b: (h, b + b" "), "does not match"),
        (lambda h, b: ({**h, "Content-Type": "text/plain"}, b), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "Authorization"}, b), "Missing Authentication"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "X-Amz-Date"}, b), "X-Amz-Date"),
        (
            lambda h, b: ({**h, "Authorization": h["Authorization"].replace("execute-api", "s3")}, b),
            "correct service",
        ),
    ],
)
def test_a_changed_request_is_refused(tamper, message) -> None:
    headers, body = tamper(*signed())
    with pytest.raises(SignatureError, match=message):
        verify("POST", URL, headers, body, secret_access_key="local")


def test_another_secret_a_changed_url_or_an_old_date_is_refused() -> None:
    headers, body = signed(secret="other")
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL, headers, body, secret_access_key="local")
    headers, body = signed()
    with pytest.raises(SignatureError, match="does not match"):
        verify("POST", URL.replace("limit=5", "limit=6"), headers, body, secret_access_key="local")
    later = datetime.now(UTC) + timedelta(minutes=16)
    with pytest.raises(SignatureError, match="Signature expired"):
        verify("POST", URL, headers, body, secret_access_key="local", now=later)
