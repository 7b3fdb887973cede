"""Volcengine V4 request signing (HMAC-SHA256), as a pure function over bytes and a timestamp.

One function per step of the algorithm, so each intermediate value can be checked against the
vectors traced from the official SDK, and so the emulator can verify a received request with the
very same steps. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "HMAC-SHA256"
DEFAULT_REGION = "cn-north-1"
DEFAULT_SERVICE = "cv"
_UNRESERVED = "-_.~"
X_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

QueryParams = Mapping[str, str | Iterable[str]]


@dataclass(frozen=True)
class Credentials:
    """An access key pair with an optional STS session token. Secrets never appear in ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("credentials need a non-empty access_key_id and secret_access_key")

    def __str__(self) -> str:
        return repr(self)


@dataclass(frozen=True)
class SigningKeyChain:
    """The HMAC chain that derives the signing key: each step is kept for inspection in tests."""

    k_date: bytes = field(repr=False)
    k_region: bytes = field(repr=False)
    k_service: bytes = field(repr=False)
    k_signing: bytes = field(repr=False)


@dataclass(frozen=True)
class SignedRequest:
    """Everything the signer computed, and the headers to send."""

    body_sha256: str
    canonical_request: str
    canonical_request_sha256: str
    credential_scope: str
    string_to_sign: str
    key_chain: SigningKeyChain = field(repr=False)
    signature: str
    signed_headers: str
    authorization: str
    headers: dict[str, str]


def format_x_date(timestamp: datetime) -> str:
    """The ``X-Date`` value: UTC, basic ISO 8601 (``20250101T000000Z``)."""
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    t = timestamp if timestamp.tzinfo is UTC else timestamp.astimezone(UTC)
    # The same text as strftime(X_DATE_FORMAT) at under half its cost (it runs for every request).
    return "%04d%02d%02dT%02d%02d%02dZ" % (t.year, t.month, t.day, t.hour, t.minute, t.second)  # noqa: UP031


def parse_x_date(value: str) -> datetime:
    return datetime.strptime(value, X_DATE_FORMAT).replace(tzinfo=UTC)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, message: str) -> bytes:
    # hmac.digest is the one-shot C path: several times cheaper than hmac.new(...).digest().
    return hmac.digest(key, message.encode("utf-8"), "sha256")


# Paths, query keys and values repeat from request to request (Action, Version, the same task ids
# while polling): their percent-encoding is computed once. The caches are small and bounded.
@functools.lru_cache(maxsize=256)
def canonical_uri(path: str) -> str:
    return quote(path or "/", safe="/~")


@functools.lru_cache(maxsize=1024)
def _encode(component: str) -> str:
    return quote(component, safe=_UNRESERVED)


def canonical_query(query: QueryParams) -> str:
    """Keys sorted; keys and values percent-encoded (RFC 3986, space as ``%20``); lists repeated."""
    if all(isinstance(value, str) for value in query.values()):
        return _canonical_plain_query(tuple(query.items()))
    pairs: list[str] = []
    for key in sorted(query):
        value = query[key]
        values = [value] if isinstance(value, str) else list(value)
        for item in values:
            pairs.append(f"{_encode(key)}={_encode(item)}")
    return "&".join(pairs)


@functools.lru_cache(maxsize=256)
def _canonical_plain_query(items: tuple[tuple[str, str], ...]) -> str:
    """A query of single values (``Action`` and ``Version``, nearly always): computed once."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(items))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """The canonical header block (each line ending in a newline) and the signed-header list."""
    normalised = sorted((name.strip().lower(), " ".join(value.split())) for name, value in headers.items())
    block = "".join(f"{name}:{value}\n" for name, value in normalised)
    return block, ";".join(name for name, _ in normalised)


def canonical_request(
    method: str, path: str, query: QueryParams, headers: Mapping[str, str], body_sha256: str
) -> tuple[str, str]:
    """The canonical request and its signed-header list."""
    header_block, signed_headers = canonical_headers(headers)
    text = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            header_block,
            signed_headers,
            body_sha256,
        ]
    )
    return text, signed_headers


def credential_scope(x_date: str, region: str, service: str) -> str:
    return f"{x_date[:8]}/{region}/{service}/request"


def string_to_sign(x_date: str, scope: str, canonical_request_text: str) -> str:
    return "\n".join([ALGORITHM, x_date, scope, sha256_hex(canonical_request_text.encode("utf-8"))])


# The key changes once a day per (secret, region, service): deriving it costs four HMACs per request
# otherwise. The cache holds derived keys only for the secrets this process already holds.
@functools.lru_cache(maxsize=16)
def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> SigningKeyChain:
    k_date = hmac_sha256(secret_access_key.encode("utf-8"), date)
    k_region = hmac_sha256(k_date, region)
    k_service = hmac_sha256(k_region, service)
    k_signing = hmac_sha256(k_service, "request")
    return SigningKeyChain(k_date, k_region, k_service, k_signing)


def compute_signature(k_signing: bytes, string_to_sign_text: str) -> str:
    return hmac_sha256(k_signing, string_to_sign_text).hex()


def sign(
    *,
    method: str,
    host: str,
    path: str,
    query: QueryParams,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    timestamp: datetime,
    region: str = DEFAULT_REGION,
    service: str = DEFAULT_SERVICE,
) -> SignedRequest:
    """Sign a request. Every header in ``headers`` is signed, plus ``Host``, ``X-Date``,
    ``X-Content-Sha256`` and, with a session token, ``X-Security-Token``.

    ``body`` must be the exact bytes that will be sent.
    """
    x_date = format_x_date(timestamp)
    body_sha256 = sha256_hex(body)
    to_sign = dict(headers)
    to_sign.update({"Host": host, "X-Date": x_date, "X-Content-Sha256": body_sha256})
    if credentials.session_token:
        to_sign["X-Security-Token"] = credentials.session_token

    canonical, signed_headers = canonical_request(method, path, query, to_sign, body_sha256)
    scope = credential_scope(x_date, region, service)
    to_sign_text = string_to_sign(x_date, scope, canonical)
    chain = derive_signing_key(credentials.secret_access_key, x_date[:8], region, service)
    signature = compute_signature(chain.k_signing, to_sign_text)
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return SignedRequest(
        body_sha256=body_sha256,
        canonical_request=canonical,
        canonical_request_sha256=to_sign_text.rpartition("\n")[2],  # its last line: hashed once
        credential_scope=scope,
        string_to_sign=to_sign_text,
        key_chain=chain,
        signature=signature,
        signed_headers=signed_headers,
        authorization=authorization,
        headers={**to_sign, "Authorization": authorization},
    )


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    """Parse an ``Authorization`` header; raises ``ValueError`` when it is malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, part_value = item.strip().partition("=")
        if not sep:
            raise ValueError("malformed Authorization header")
        parts[name] = part_value
    try:
        credential = parts["Credential"].split("/")
        access_key_id, date, region, service, terminator = credential
        signed_headers = tuple(parts["SignedHeaders"].split(";"))
        signature = parts["Signature"]
    except (KeyError, ValueError) as exc:
        raise ValueError("malformed Authorization header") from exc
    if terminator != "request":
        raise ValueError("malformed credential scope")
    return ParsedAuthorization(access_key_id, date, region, service, signed_headers, signature)
