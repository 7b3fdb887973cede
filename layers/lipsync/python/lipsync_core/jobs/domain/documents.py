"""What a caller sends (requests, manifests, bodies, headers): the documented limits on it, and the
structural check every entry point runs before validation: a value that passes it can be stored in
DynamoDB, sent on EventBridge and logged.

The job record must stay far below DynamoDB's 400 KB item limit however the job goes on: the request
is the only part a caller sizes, so it is bounded here (16 KiB); everything the workflow adds later
(history, attempts, error messages) is bounded by the workflow's own limits.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT

from .errors import DocumentRejectedError, DocumentTooLargeError

MAX_REQUEST_BYTES = 16 * 1024  # the request as compact JSON (UTF-8)
MAX_DOCUMENT_BYTES = 64 * 1024  # a manifest, event detail or API body before it is parsed
MAX_DEPTH = 8  # nesting of objects and arrays; a valid request needs 3
MAX_KEY_CHARS = 64  # any object key (the longest valid one has 20 characters)
MAX_STRING_CHARS = 4096  # any string (URLs are the longest valid strings)
MAX_AIGC_META_CHARS = 256  # each aigc_meta value
MAX_MODE_CHARS = 64
MAX_VERSION_ID_CHARS = 1024
MAX_OPTION_NUMBER = 86_400.0  # a numeric option (seconds into a template) is at most a day
MAX_IDEMPOTENCY_KEY_CHARS = 256
MAX_ERRORS = 20
MAX_MESSAGE = 1000  # an error message or rejection reason, in a record or an event
# The provider's answer carried in the execution's state from Poll to CopyResult: Step Functions fails
# an execution whose state passes 256 KiB (States.DataLimitExceeded, which no Catch handles), and the
# provider's resp_data has no documented bound. Larger answers are not carried; CopyResult asks again.
MAX_CARRIED_RESULT_BYTES = 16 * 1024
_IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}$")


def printable(text: str, limit: int = MAX_KEY_CHARS) -> str:
    """A caller's text made safe to quote in an answer: valid UTF-8, no control characters, bounded."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _storable_number(value: int | float) -> bool:
    """Whether DynamoDB can store the number exactly as JSON gives it (38 digits, 1E-130..1E+126)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    try:
        DYNAMODB_CONTEXT.create_decimal(Decimal(json.dumps(value)))
    except DecimalException:  # boto3's context traps Inexact, Rounded, Overflow and Underflow
        return False
    return True


def _check_text(text: str, field: str, limit: int) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DocumentRejectedError(field, "is not valid Unicode (a lone surrogate)") from None
    if len(text) > limit:
        raise DocumentRejectedError(field, f"is {len(text)} characters long; the limit is {limit}")


def check_document(value: Any, *, max_bytes: int = MAX_REQUEST_BYTES) -> None:
    """Reject anything a job request cannot be made of, before any validation sees it: nesting deeper
    than ``MAX_DEPTH``, oversize strings or keys, invalid Unicode, numbers DynamoDB cannot store, and a
    request larger than ``max_bytes`` as compact JSON. Walks iteratively (no recursion to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        field = path or "(request)"
        if isinstance(item, dict | list) and depth >= MAX_DEPTH:
            raise DocumentRejectedError(field, f"is nested too deeply; the limit is {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise DocumentRejectedError(field, "has a key that is not a string")
                _check_text(key, f"{path}.{printable(key)}".lstrip("."), MAX_KEY_CHARS)
                stack.append((child, f"{path}.{key}".lstrip("."), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, field, MAX_STRING_CHARS)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            if not _storable_number(item):
                raise DocumentRejectedError(field, "is a number that cannot be stored (too large or precise)")
        else:
            raise DocumentRejectedError(field, f"has a value of type {type(item).__name__}")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > max_bytes:
        raise DocumentRejectedError("(request)", f"is {size} bytes as JSON; the limit is {max_bytes}")


def parse_document(raw: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """JSON text to a value, within the size limit; every failure is a ``DocumentRejectedError``."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise DocumentTooLargeError("(body)", f"is {len(data)} bytes; the limit is {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentRejectedError("(body)", "is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise DocumentRejectedError("(body)", f"is nested too deeply; the limit is {MAX_DEPTH}") from None
    except ValueError as error:
        raise DocumentRejectedError("(body)", f"is not valid JSON: {printable(str(error), 200)}") from None


# JSON's insignificant whitespace besides the line feed (RFC 8259): what a JSON Lines line may hold
# around its value.
JSON_LINE_WHITESPACE = " \t\r"


def json_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a JSON Lines text (jsonlines.org) that hold a value, numbered from 1 as an editor
    numbers them. A line ends at ``\n`` only: a ``\r`` before it is JSON whitespace, and U+2028, U+2029,
    U+0085 (which ``str.splitlines`` also breaks at) may stand inside a JSON string. A final ``\n``
    starts no new line. Lines of whitespace alone hold no value and are left out, keeping the numbers
    of the others. A byte order mark is refused, as the format says."""
    if text.startswith("\ufeff"):
        raise DocumentRejectedError(
            "(manifest)", "starts with a byte order mark (U+FEFF), which JSON Lines does not allow"
        )
    return [
        (number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip(JSON_LINE_WHITESPACE)
    ]


def parse_body(body: str | None, *, base64_encoded: bool) -> Any:
    """An HTTP request's JSON body within the limits, or a ``DocumentRejectedError`` naming ``(body)``."""
    if not body:
        raise DocumentRejectedError("(body)", "is required: a JSON job request")
    if not base64_encoded:
        return parse_document(body)
    try:
        return parse_document(base64.b64decode(body, validate=True))
    except binascii.Error:
        raise DocumentRejectedError("(body)", "is not valid base64") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_idempotency_key(key: str | None) -> str | None:
    """An ``Idempotency-Key`` header as given (or None), if it is 1 to 256 visible ASCII characters."""
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        message = f"must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        raise DocumentRejectedError("Idempotency-Key", message)
    return key
