"""AWS quotas the local moto server does not enforce itself, refused as AWS refuses them.

Checked against moto 5.2.5 (``tests/e2e/test_quotas.py`` keeps each finding): moto already refuses a
DynamoDB item over 400 KB (``ValidationException``), an SQS message over its queue's
``MaximumMessageSize`` (``InvalidParameterValue``) and a Step Functions state over 256 KiB
(``States.DataLimitExceeded``). It accepts any ``PutEvents`` request, where EventBridge refuses one whose
entries total 256 KB or more (sized as EventBridge documents it: ``Time`` counts 14 bytes, ``Source``,
``DetailType``, ``Detail`` and each of ``Resources`` their UTF-8 bytes). Lambda's and API Gateway's
limits are the local runtime's own (``lambda_functions``, ``api_server``)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from .moto_server import Wsgi

MAX_PUT_EVENTS_BYTES = 256 * 1024
PUT_EVENTS_TARGET = "AWSEvents.PutEvents"


def entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    return size + sum(len(str(resource).encode()) for resource in entry.get("Resources") or [])


def put_events_refusal(body: bytes) -> str | None:
    try:
        entries = json.loads(body or b"{}").get("Entries") or []
    except (ValueError, AttributeError):
        return None  # moto answers what is malformed
    if sum(entry_size(entry) for entry in entries if isinstance(entry, dict)) >= MAX_PUT_EVENTS_BYTES:
        return "Total size of the entries in the request is over the limit."
    return None


def enforced(app: Wsgi) -> Wsgi:
    """``app`` behind the quotas above."""

    def quotas(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != PUT_EVENTS_TARGET:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        refusal = put_events_refusal(body)
        if refusal is None:
            return app(environ, start_response)
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "ValidationException")],
        )
        return [json.dumps({"__type": "ValidationException", "message": refusal}).encode()]

    return quotas
