"""Clients that wait politely: checks a few seconds apart growing to a cap, the API's Retry-After
honoured, and every POST carrying an Idempotency-Key, so a repeated POST creates nothing twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lipsync_client import LipSync
from lipsync_client.waiting import Backoff, retry_after_seconds
from tests.support.scripted_server import Reply, ScriptedServer, scripted_server


@pytest.fixture
def api() -> Iterator[ScriptedServer]:
    with scripted_server("unused") as server:
        yield server


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(LipSync, "_sleep", staticmethod(delays.append))
    return delays


def test_delays_grow_from_a_few_seconds_to_a_cap_and_retry_after_wins() -> None:
    backoff = Backoff(first=2, growth=1.5, cap=5)
    assert [backoff.delay() for _ in range(4)] == [2, 3, 4.5, 5]
    assert backoff.delay(retry_after=12) == 12
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert retry_after_seconds("soon") is None


def test_wait_backs_off_and_honours_the_apis_retry_after(api: ScriptedServer, slept: list[float]) -> None:
    # Given a job that runs for three checks, and one check the API throttled asking for 9 s
    running = Reply(body={"job_id": "j", "status": "RUNNING"})
    api.reply(
        running,
        Reply(status=429, body={"message": "Too Many Requests"}, headers={"Retry-After": "9"}),
        running,
        Reply(body={"job_id": "j", "status": "SUCCEEDED"}),
    )

    # When a client waits for it
    job = LipSync(api.endpoint, sign=False).wait("j")

    # Then it ended, the checks were spaced growing from 2 s, and the throttled one waited 9 s
    assert job["status"] == "SUCCEEDED"
    assert slept == [2.0, 9.0, 4.5]
    assert [r.method for r in api.received] == ["GET"] * 4


def test_every_post_carries_an_idempotency_key_and_a_504_is_repeated_with_it(
    api: ScriptedServer, slept: list[float]
) -> None:
    # Given an API that answers the first POST with API Gateway's 504 (the job may exist by then)
    api.reply(Reply(status=504, body={"message": "Endpoint request timed out"}), Reply(status=202, body={}))

    # When a job is submitted without a key of the caller's
    LipSync(api.endpoint, sign=False).submit(mode="lite", video="s3://b/v.mp4", audio="s3://b/a.wav")

    # Then both POSTs carried the same generated key, so the second one cannot pay twice
    keys = [r.headers.get("Idempotency-Key") for r in api.received]
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]
    assert len(slept) == 1
