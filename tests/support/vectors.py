"""Reads the signing vectors traced from the official SDK (tests/data/sdk-signing-vectors.txt)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

VECTORS_FILE = Path(__file__).resolve().parent.parent / "data" / "sdk-signing-vectors.txt"


@dataclass(frozen=True)
class SigningVector:
    name: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    x_date: str
    action: str
    body: bytes
    body_sha256: str
    canonical_request: str
    canonical_request_sha256: str
    k_date: str
    k_region: str
    k_service: str
    k_signing: str
    signature: str
    string_to_sign: str
    wire_headers: dict[str, str]


def _after(section: str, marker: str) -> str:
    """The first non-empty line after a ``--- marker ---`` line."""
    lines = section.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("---") and marker in line:
            return next(x for x in lines[index + 1 :] if x.strip())
    raise KeyError(marker)


def _hmac_out(section: str, name: str) -> str:
    match = re.search(rf"^{name}\s*=.*?\n(?:\s+key=.*\n)\s+out=([0-9a-f]+)", section, re.M)
    if not match:
        raise KeyError(name)
    return match.group(1)


def load_vectors() -> list[SigningVector]:
    text = VECTORS_FILE.read_text(encoding="utf-8")
    sections = re.split(r"^=+\nTEST VECTOR \d+: ", text, flags=re.M)[1:]
    vectors = []
    for raw in sections:
        name = raw.split("\n", 1)[0].strip().strip("=").strip()
        inputs = re.search(
            r"AK='([^']*)' SK='([^']*)' X-Date=(\S+) region=\S+ service=\S+ session_token='([^']*)'", raw
        )
        assert inputs, name
        request_line = _after(raw, "request line")
        action = re.search(r"Action=(\w+)", request_line)
        assert action
        headers_block = raw.split("--- headers as sent on the wire", 1)[1].split("\n\n", 1)[0]
        wire_headers = dict(line.split(": ", 1) for line in headers_block.split("\n")[1:] if ": " in line)
        vectors.append(
            SigningVector(
                name=name,
                access_key_id=inputs.group(1),
                secret_access_key=inputs.group(2),
                x_date=inputs.group(3),
                session_token=inputs.group(4),
                action=action.group(1),
                body=_after(raw, "body bytes").encode("utf-8"),
                body_sha256=_after(raw, "X-Content-Sha256 ="),
                canonical_request=ast.literal_eval(_after(raw, "CanonicalRequest (repr")),
                canonical_request_sha256=_after(raw, "hex(sha256(CanonicalRequest))"),
                k_date=_hmac_out(raw, "kDate"),
                k_region=_hmac_out(raw, "kRegion"),
                k_service=_hmac_out(raw, "kService"),
                k_signing=_hmac_out(raw, "kSigning"),
                signature=_hmac_out(raw, "signature"),
                string_to_sign=ast.literal_eval(_after(raw, "StringToSign (repr")),
                wire_headers=wire_headers,
            )
        )
    return vectors
