"""Checks a received request as the gateway does, with the signer's own building blocks."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from lipsync_core.volc.signer import (
    Credentials,
    canonical_request,
    compute_signature,
    credential_scope,
    derive_signing_key,
    parse_authorization,
    parse_x_date,
    sha256_hex,
    string_to_sign,
)

from . import errors

MAX_CLOCK_SKEW = timedelta(minutes=15)
REQUIRED_SIGNED_HEADERS = {"host", "x-date", "x-content-sha256"}


# The credentials the emulator accepts: the same type clients sign with (secrets hidden in repr).
Principal = Credentials


def verify_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    principal: Principal,
    now: datetime | None = None,
) -> None:
    """Raise a ``GatewayError`` unless the request is signed by ``principal``."""
    lower = {name.lower(): value for name, value in headers.items()}
    authorization = lower.get("authorization")
    if not authorization:
        raise errors.missing_authentication()
    try:
        parsed = parse_authorization(authorization)
    except ValueError:
        raise errors.signature_mismatch() from None
    if not hmac.compare_digest(parsed.access_key_id, principal.access_key_id):
        raise errors.invalid_access_key()
    if not set(parsed.signed_headers) >= REQUIRED_SIGNED_HEADERS:
        raise errors.signature_mismatch()

    x_date = lower.get("x-date", "")
    try:
        signed_at = parse_x_date(x_date)
    except ValueError:
        raise errors.invalid_timestamp() from None
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_CLOCK_SKEW or parsed.date != x_date[:8]:
        raise errors.invalid_timestamp()

    if lower.get("x-content-sha256") != sha256_hex(body):
        raise errors.invalid_content_sha256()

    if principal.session_token is not None:
        token = lower.get("x-security-token", "")
        if "x-security-token" not in parsed.signed_headers or not hmac.compare_digest(
            token, principal.session_token
        ):
            raise errors.invalid_security_token()

    signed = {name: lower.get(name, "") for name in parsed.signed_headers}
    canonical, _ = canonical_request(method, path, query, signed, lower["x-content-sha256"])
    scope = credential_scope(x_date, parsed.region, parsed.service)
    key = derive_signing_key(principal.secret_access_key, parsed.date, parsed.region, parsed.service)
    expected = compute_signature(key.k_signing, string_to_sign(x_date, scope, canonical))
    if not hmac.compare_digest(expected, parsed.signature):
        raise errors.signature_mismatch()
