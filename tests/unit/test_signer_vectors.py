"""The signer reproduces every intermediate value traced from the official SDK."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from lipsync_core.volc import signer
from lipsync_core.volc.signer import Credentials
from tests.support.vectors import SigningVector, load_vectors

VECTORS = load_vectors()


def test_both_vectors_are_loaded() -> None:
    assert [v.action for v in VECTORS] == ["CVSubmitTask", "CVGetResult"]
    assert VECTORS[1].session_token, "the second vector uses an STS session token"


def _sign(vector: SigningVector) -> signer.SignedRequest:
    return signer.sign(
        method="POST",
        host=vector.wire_headers["Host"],
        path="/",
        query={"Action": vector.action, "Version": "2022-08-31"},
        headers={"Content-Type": "application/json"},
        body=vector.body,
        credentials=Credentials(vector.access_key_id, vector.secret_access_key, vector.session_token or None),
        timestamp=signer.parse_x_date(vector.x_date),
    )


@pytest.fixture(params=VECTORS, ids=lambda v: v.action)
def vector(request: pytest.FixtureRequest) -> SigningVector:
    return request.param  # type: ignore[no-any-return]


def test_body_hash(vector: SigningVector) -> None:
    assert _sign(vector).body_sha256 == vector.body_sha256


def test_canonical_request(vector: SigningVector) -> None:
    signed = _sign(vector)
    assert signed.canonical_request == vector.canonical_request
    assert signed.canonical_request_sha256 == vector.canonical_request_sha256


def test_string_to_sign(vector: SigningVector) -> None:
    assert _sign(vector).string_to_sign == vector.string_to_sign


def test_each_hmac_step(vector: SigningVector) -> None:
    chain = _sign(vector).key_chain
    assert (chain.k_date.hex(), chain.k_region.hex(), chain.k_service.hex(), chain.k_signing.hex()) == (
        vector.k_date,
        vector.k_region,
        vector.k_service,
        vector.k_signing,
    )


def test_signature_and_authorization_header(vector: SigningVector) -> None:
    signed = _sign(vector)
    assert signed.signature == vector.signature
    assert signed.authorization == vector.wire_headers["Authorization"]


def test_headers_on_the_wire(vector: SigningVector) -> None:
    signed = _sign(vector)
    for name in ("Host", "X-Date", "X-Content-Sha256", "Authorization", "Content-Type"):
        assert signed.headers[name] == vector.wire_headers[name]
    assert signed.headers.get("X-Security-Token") == vector.wire_headers.get("X-Security-Token")


def test_x_date_is_utc_and_rejects_naive_timestamps() -> None:
    from datetime import timedelta

    east = timezone(timedelta(hours=8))
    assert signer.format_x_date(datetime(2025, 1, 1, 8, 0, tzinfo=east)) == "20250101T000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        signer.format_x_date(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"Version": "2022-08-31", "Action": "CVGetResult"}, "Action=CVGetResult&Version=2022-08-31"),
        ({"a": "x y", "b": "1+2"}, "a=x%20y&b=1%2B2"),
        ({"k": "é/~"}, "k=%C3%A9%2F~"),
        ({"m": ["2", "1"]}, "m=2&m=1"),
    ],
)
def test_canonical_query_sorts_and_encodes(query: dict[str, str], expected: str) -> None:
    assert signer.canonical_query(query) == expected


def test_authorization_header_round_trips_through_the_parser(vector: SigningVector) -> None:
    parsed = signer.parse_authorization(vector.wire_headers["Authorization"])
    assert parsed.access_key_id == vector.access_key_id
    assert parsed.signature == vector.signature
    assert ";".join(parsed.signed_headers) == _sign(vector).signed_headers


@pytest.mark.parametrize("header", ["", "AWS4-HMAC-SHA256 Credential=a", "HMAC-SHA256 Credential=a/b"])
def test_malformed_authorization_is_rejected(header: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|unsupported"):
        signer.parse_authorization(header)
