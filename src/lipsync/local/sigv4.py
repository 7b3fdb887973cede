"""SigV4 checks for the local API (``lipsync up --auth iam``), so a client's signing is exercised
offline as API Gateway's IAM authorisation would exercise it: the signature is recomputed with
botocore's own signer over the headers the request says it signed, and compared.

Locally any access key id will do (there is no IAM to look it up in), but the signature must be made
with the secret key ``lipsync up`` prints: a wrong secret, a changed body or a stale date are refused.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
MAX_SKEW_SECONDS = 15 * 60  # API Gateway refuses signatures more than 15 minutes off
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureError(Exception):
    """Why the request's signature is refused (API Gateway answers these with 403)."""


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    secret_access_key: str,
    now: datetime | None = None,
) -> str:
    """Returns the access key id of a correctly signed request; raises :class:`SignatureError`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION.match(lowered.get("authorization", ""))
    if match is None:
        raise SignatureError("Missing Authentication Token")
    if match["service"] != SERVICE:
        raise SignatureError(f"Credential should be scoped to correct service: '{SERVICE}'")
    amz_date = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("the request has no valid X-Amz-Date") from None
    if abs(((now or datetime.now(UTC)) - signed_at).total_seconds()) > MAX_SKEW_SECONDS:
        raise SignatureError("Signature expired")
    if not amz_date.startswith(match["date"]):
        raise SignatureError("the credential's date is not the request's date")
    names = match["signed"].split(";")
    if "host" not in names:
        raise SignatureError("the Host header is not signed")
    try:
        signed = {name: lowered[name] for name in names}
    except KeyError as missing:
        raise SignatureError(f"signed header {missing.args[0]} is missing") from None
    request = AWSRequest(method=method, url=url, data=body or b"", headers=signed)
    request.context["timestamp"] = amz_date
    credentials = Credentials(match["key"], secret_access_key, lowered.get("x-amz-security-token"))
    signer = SigV4Auth(credentials, SERVICE, match["region"])
    # The signer's own steps, without add_auth's "now": the date is the request's.
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError("The request signature we calculated does not match the signature you provided")
    return match["key"]
