"""Fault injection (at start and at run time) and the QPS and concurrency limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from lipsync.emulator import Emulator, ServiceConfig, parse_fault_spec
from lipsync.emulator.faults import FaultInjector, FaultRule, FaultSpecError
from lipsync.emulator.rate_limit import QpsLimiter
from lipsync_core.volc import (
    VolcSubmitUnconfirmedError,
    VolcTaskFailedError,
    VolcThrottledError,
    VolcUnavailableError,
)
from tests.emulator.conftest import FAST, finish
from tests.support.media import Media


def submit(emulator: Emulator, media: Media, **client_kwargs: object) -> str:
    client = emulator.client(**client_kwargs)
    return client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id


def test_a_throttle_burst_then_success(emulator: Emulator, media: Media) -> None:
    emulator.admin.add_faults({"fault": "throttle", "count": 2, "action": "CVSubmitTask"})
    for _ in range(2):
        with pytest.raises(VolcThrottledError) as caught:
            submit(emulator, media)
        assert (caught.value.code, caught.value.http_status) == (50429, 404)
    assert submit(emulator, media)
    assert emulator.admin.faults()[0]["fired"] == 2
    assert emulator.admin.submissions()["total"] == 1


@pytest.mark.parametrize(
    ("rule", "error", "code"),
    [
        ({"fault": "internal"}, VolcUnavailableError, 50500),
        ({"fault": "concurrency"}, VolcThrottledError, 50430),
        ({"fault": "html_error", "status": 502}, VolcUnavailableError, None),
    ],
)
def test_service_faults_on_queries(
    emulator: Emulator, rule: dict[str, object], error: type[Exception], code: int | None
) -> None:
    emulator.admin.add_faults({**rule, "count": 1})
    with pytest.raises(error) as caught:
        emulator.client().get_result("lite", "1")
    assert getattr(caught.value, "code", None) == code
    assert emulator.client().get_result("lite", "1").status == "not_found", "only once"


def test_a_connection_reset_on_submit_is_unconfirmed_and_on_query_retryable(
    emulator: Emulator, media: Media
) -> None:
    emulator.admin.add_faults({"fault": "reset", "count": 2})
    with pytest.raises(VolcSubmitUnconfirmedError):
        submit(emulator, media)
    with pytest.raises(VolcUnavailableError):
        emulator.client().get_result("lite", "1")


def test_an_answer_slower_than_the_client_timeout(emulator: Emulator, media: Media) -> None:
    emulator.admin.add_faults({"fault": "slow", "delay": 5, "count": 1, "action": "CVSubmitTask"})
    with pytest.raises(VolcSubmitUnconfirmedError):
        submit(emulator, media, timeout=(2.0, 0.3))


def test_a_task_that_ends_in_failure(emulator: Emulator, media: Media) -> None:
    task_id = submit(emulator, media)
    emulator.admin.add_faults(
        {"fault": "task_failed", "task_id": task_id, "code": 50413, "message": "Post Text Risk Not Pass"}
    )
    with pytest.raises(VolcTaskFailedError, match="Post Text Risk Not Pass") as caught:
        emulator.client().get_result("lite", task_id)
    assert caught.value.code == 50413
    finish(emulator, task_id)
    with pytest.raises(VolcTaskFailedError):
        emulator.client().get_result("lite", task_id)


def test_a_render_failure_is_a_done_task_with_a_failure_code(
    emulator: Emulator, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lipsync.emulator.service as service_module
    from tests.support.media import broken_render  # importable: renders run in worker processes

    monkeypatch.setattr(service_module, "render", broken_render)
    task_id = submit(emulator, media)
    finish(emulator, task_id)
    with pytest.raises(VolcTaskFailedError, match="encoder exploded") as caught:
        emulator.client().get_result("lite", task_id)
    assert caught.value.code == 50500


@pytest.mark.parametrize("status", ["expired", "not_found"])
def test_tasks_can_expire_or_vanish_mid_flight(emulator: Emulator, media: Media, status: str) -> None:
    client = emulator.client()
    task_id = submit(emulator, media)
    assert client.get_result("lite", task_id).status == "in_queue"
    emulator.admin.add_faults({"fault": status, "task_id": task_id})
    assert client.get_result("lite", task_id).status == status
    finish(emulator, task_id)
    assert client.get_result("lite", task_id).status == status, "it stays so"


def test_truncated_and_slow_result_downloads(emulator: Emulator, media: Media) -> None:
    client = emulator.client()
    task_id = submit(emulator, media)
    finish(emulator, task_id)
    url = client.get_result("lite", task_id).video_url
    assert url
    whole = requests.get(url, timeout=30).content
    emulator.admin.add_faults({"fault": "truncate", "count": 1})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=30).content  # noqa: B018 - reading the body is the point
    emulator.admin.add_faults({"fault": "slow_download", "count": 1, "delay": 4})
    with pytest.raises((requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError)):
        requests.get(url, timeout=(2, 0.05), stream=True).content  # noqa: B018
    assert requests.get(url, timeout=30).content == whole


def test_faults_from_the_command_line_spec() -> None:
    rules = parse_fault_spec("throttle:rate=0.5,action=CVGetResult; task_failed:code=50412,count=1")
    assert [(r.fault, r.action, r.rate, r.code, r.count) for r in rules] == [
        ("throttle", "CVGetResult", 0.5, 50413, None),
        ("task_failed", None, 1.0, 50412, 1),
    ]
    for bad in ("nonsense", "throttle:rate", "throttle:rate=2", "throttle:speed=1", "throttle:action=Foo"):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


def test_fault_rates_are_deterministic_given_a_seed() -> None:
    def fired(seed: int) -> list[bool]:
        injector = FaultInjector([FaultRule("throttle", rate=0.5)], seed=seed)
        return [injector.pick({"throttle"}, action="CVGetResult") is not None for _ in range(64)]

    assert fired(7) == fired(7)
    assert fired(7) != fired(8)
    assert 16 < sum(fired(7)) < 48


def test_faults_given_at_start(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(faults=parse_fault_spec("internal:count=1"))
    with pytest.raises(VolcUnavailableError):
        emulator.client().get_result("lite", "1")


def test_the_admin_endpoint_rejects_bad_rules(emulator: Emulator) -> None:
    answer = requests.post(f"{emulator.endpoint}/_emulator/faults", json={"fault": "meteor"}, timeout=10)
    assert answer.status_code == 400
    assert "unknown fault" in answer.json()["message"]


def test_the_qps_limit_per_req_key(make_emulator: Callable[..., Emulator]) -> None:
    emulator = make_emulator(config=ServiceConfig(qps=1))
    emulator.service.qps_limiter = QpsLimiter(1, clock=lambda: 0.0)  # frozen: every call in one second
    client = emulator.client()
    client.get_result("lite", "1")
    with pytest.raises(VolcThrottledError) as caught:
        client.get_result("lite", "1")
    assert (caught.value.code, caught.value.http_status) == (50429, 404)
    assert client.get_result("basic", "1").status == "not_found", "another req_key has its own budget"


def test_the_concurrency_limit_per_req_key(make_emulator: Callable[..., Emulator], media: Media) -> None:
    emulator = make_emulator(
        config=ServiceConfig(
            concurrency=1,
            queue_seconds=FAST.queue_seconds,
            generating_base_seconds=FAST.generating_base_seconds,
            generating_per_voice_second=FAST.generating_per_voice_second,
        )
    )
    first = submit(emulator, media)
    with pytest.raises(VolcThrottledError) as caught:
        submit(emulator, media)
    assert caught.value.code == 50430
    finish(emulator, first)
    assert submit(emulator, media), "a slot is free once the first task is done"


def test_the_qps_window_slides() -> None:
    now = [0.0]
    limiter = QpsLimiter(2, clock=lambda: now[0])
    assert [limiter.allow("k"), limiter.allow("k"), limiter.allow("k")] == [True, True, False]
    now[0] = 1.0
    assert limiter.allow("k")
    assert QpsLimiter(0).allow("k"), "0 disables the limit"
