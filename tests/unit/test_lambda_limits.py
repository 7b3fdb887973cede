"""Lambda's and API Gateway's own limits in the local runtime: an invocation that outlives its function's
timeout fails as Lambda fails it (``Sandbox.Timedout``, the error Step Functions matches), a synchronous
answer over 6 MB with ``Function.ResponseSizeTooLarge``; the API answers 504 after API Gateway's
integration timeout and 502 for an answer Lambda refused. No test sleeps: blocked handlers wait on an
event that the test sets once the answer has come."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lipsync.local.api_server import ApiServer
from lipsync.local.lambda_functions import MAX_SYNC_RESPONSE_BYTES, FunctionError, FunctionRegistry


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # a handler still blocked ends with the test


def registry_with(release: threading.Event) -> FunctionRegistry:
    registry = FunctionRegistry()

    def blocked(event: Any, context: Any) -> dict[str, str]:
        release.wait()
        return {"late": "answer"}

    registry.register("slow", lambda: blocked, timeout=1)
    registry.register("large", lambda: lambda e, c: {"body": "x" * MAX_SYNC_RESPONSE_BYTES}, timeout=60)
    registry.register("fits", lambda: lambda e, c: {"body": "x" * (MAX_SYNC_RESPONSE_BYTES - 20)})
    return registry


def test_an_invocation_past_its_timeout_fails_as_lambda_fails_it(release: threading.Event) -> None:
    registry = registry_with(release)
    headers: dict[str, str] = {}
    error = json.loads(registry.invoke("slow", b"{}", headers))
    assert headers["x-amz-function-error"] == "Unhandled"
    assert error == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds"}
    with pytest.raises(FunctionError) as caught:  # an event source's invocation fails the same way
        registry.call("slow", {})
    assert caught.value.error_type == "Sandbox.Timedout"


def test_a_synchronous_answer_over_6_mb_is_refused(release: threading.Event) -> None:
    registry = registry_with(release)
    headers: dict[str, str] = {}
    error = json.loads(registry.invoke("large", b"{}", headers))
    assert headers["x-amz-function-error"] == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert error["errorMessage"] == (
        "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
    )
    assert len(registry.invoke("fits", b"{}", {})) <= MAX_SYNC_RESPONSE_BYTES
    assert registry.call("large", {})["body"], "an asynchronous invocation's answer goes nowhere: no limit"


def test_the_api_answers_504_after_the_integration_timeout_and_502_for_a_refused_answer(
    release: threading.Event,
) -> None:
    registry = registry_with(release)
    slow = ApiServer(lambda event, _: registry.functions["slow"].load()(event, None), integration_timeout=0.5)
    large = ApiServer(lambda event, _: registry.call("large", event, synchronous=True))
    for server in (slow, large):
        server.start()
    try:
        answer = requests.get(f"{slow.url}/jobs", timeout=30)
        assert (answer.status_code, answer.json()) == (504, {"message": "Endpoint request timed out"})
        answer = requests.get(f"{large.url}/jobs", timeout=30)
        assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"})
    finally:
        for server in (slow, large):
            server.stop()
