"""Flow control end to end: the local stack with the emulator enforcing its limits (2 requests per
second per action, 3 unfinished tasks). A burst of jobs from many threads all succeed, each paid
once, each announced once; capacity comes back however a job ends; our own failing steps still end
the job once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from lipsync.emulator import ServiceConfig
from lipsync.local.runtime import TERMINAL_TYPES, LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.volc import Mode
from tests.support.schemas import EVENT_SCHEMAS, assert_valid

pytestmark = [pytest.mark.xdist_group("e2e-flow"), pytest.mark.slow]
QPS, UNFINISHED = 2, 3


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(emulator_config=ServiceConfig(qps=QPS, concurrency=UNFINISHED)) as local:
        folder = tmp_path_factory.mktemp("flow-media")
        assert local.endpoints
        s3 = local.client("s3")
        s3.upload_file(
            str(make_talking_head(folder / "f.mp4", seconds=1.0, width=96, height=64)),
            local.endpoints.bucket,
            "in/f.mp4",
        )
        s3.upload_file(str(make_voice(folder / "v.wav", seconds=1.0)), local.endpoints.bucket, "in/v.wav")
        yield local


@pytest.fixture
def request_body(limited: LocalRuntime) -> dict[str, Any]:
    assert limited.endpoints
    bucket = limited.endpoints.bucket
    return {"mode": "lite", "video": f"s3://{bucket}/in/f.mp4", "audio": f"s3://{bucket}/in/v.wav"}


def api(limited: LocalRuntime, path: str) -> str:
    assert limited.endpoints
    return f"{limited.endpoints.api}{path}"


def flow(limited: LocalRuntime) -> FlowControl:
    from lipsync_core.jobs import clients

    return FlowControl(clients.flow_control().table, FlowLimits.uniform(qps=QPS, max_unfinished=UNFINISHED))


def until(predicate: Callable[[], Any], timeout: float = 60) -> Any:
    """The first truthy answer of ``predicate``, asked again until ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (answer := predicate()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)
    return answer


def terminal_events(limited: LocalRuntime, job_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in limited.events()
        if e["detail"].get("job_id") == job_id and e["detail-type"] in TERMINAL_TYPES
    ]


def test_a_burst_from_many_threads_all_succeeds_paid_once_within_the_limits(
    limited: LocalRuntime, request_body: dict[str, Any]
) -> None:
    jobs = [f"burst-{n}" for n in range(40)]
    paid_before = limited.emulator.admin.submissions()["total"]

    def post(job_id: str) -> tuple[str, int, dict[str, Any]]:
        answer = requests.post(api(limited, "/jobs"), json={**request_body, "job_id": job_id}, timeout=60)
        return job_id, answer.status_code, answer.json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, jobs))
    # Each concurrent request got its own answer (one invocation per execution environment).
    assert [(job_id, 202, job_id) for job_id, *_ in answers] == [(j, s, b["job_id"]) for j, s, b in answers]

    # While the line is long, a job shows where it stands in it and when it may start.
    waiting = until(
        lambda: [
            v
            for j in jobs[-10:]
            if (v := requests.get(api(limited, f"/jobs/{j}"), timeout=30).json()).get("line")
        ]
    )
    assert waiting[0]["status"] == "QUEUED"
    place = waiting[0]["line"]
    assert place["position"] == place["ahead"] + 1 >= 1
    assert place["priority"] == "normal"

    events = {job_id: limited.wait_for_terminal_event(job_id, timeout=300) for job_id in jobs}
    assert Counter(e["detail-type"] for e in events.values()) == {"LipSync Job Succeeded": 40}
    for event in events.values():
        assert_valid(EVENT_SCHEMAS[event["detail-type"]], event["detail"])
    assert limited.emulator.admin.submissions()["total"] - paid_before == 40  # paid once each
    for job_id in jobs:
        record = requests.get(api(limited, f"/jobs/{job_id}"), timeout=30).json()
        assert record["status"] == "SUCCEEDED"
        assert record["attempt"] == 1
        assert len(terminal_events(limited, job_id)) == 1
    for status in ("QUEUED", "SUBMITTED", "RUNNING"):
        assert requests.get(api(limited, f"/jobs?status={status}"), timeout=30).json()["jobs"] == []
    assert flow(limited).holders(Mode.LITE) == {}  # every slot came back
    # The flow control kept the service's throttling rare; whatever it answered was waited out.
    throttles = limited.emulator.admin.throttles()
    assert throttles["total"] <= 10, throttles


def test_a_failed_job_gives_its_slot_back(limited: LocalRuntime, request_body: dict[str, Any]) -> None:
    limited.emulator.admin.add_faults({"fault": "task_failed", "code": 50413, "count": 1})
    try:
        job_id = requests.post(api(limited, "/jobs"), json=request_body, timeout=30).json()["job_id"]
        assert limited.wait_for_terminal_event(job_id)["detail-type"] == "LipSync Job Failed"
    finally:
        limited.emulator.admin.clear_faults()
    assert job_id not in flow(limited).holders(Mode.LITE)


def test_a_cancelled_job_gives_its_slot_back(limited: LocalRuntime, request_body: dict[str, Any]) -> None:
    limited.emulator.admin.add_faults({"fault": "slow", "action": "CVGetResult", "delay": 0.5})
    try:
        job_id = requests.post(api(limited, "/jobs"), json=request_body, timeout=30).json()["job_id"]
        until(lambda: job_id in flow(limited).holders(Mode.LITE))
        assert requests.delete(api(limited, f"/jobs/{job_id}"), timeout=30).status_code == 200
    finally:
        limited.emulator.admin.clear_faults()
    assert limited.wait_for_terminal_event(job_id)["detail-type"] == "LipSync Job Cancelled"
    assert job_id not in flow(limited).holders(Mode.LITE)
    assert len(terminal_events(limited, job_id)) == 1


def test_an_execution_stopped_from_outside_ends_the_job_once_and_frees_its_slot(
    limited: LocalRuntime, request_body: dict[str, Any]
) -> None:
    limited.emulator.admin.add_faults({"fault": "slow", "action": "CVGetResult", "delay": 0.5})
    try:
        job_id = requests.post(api(limited, "/jobs"), json=request_body, timeout=30).json()["job_id"]
        until(lambda: job_id in flow(limited).holders(Mode.LITE))
        record = requests.get(api(limited, f"/jobs/{job_id}"), timeout=30).json()
        assert record["status"] in ("QUEUED", "SUBMITTED", "RUNNING")
        assert limited.endpoints
        arn = limited.endpoints.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
        limited.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="by hand")
        event = limited.wait_for_terminal_event(job_id)
    finally:
        limited.emulator.admin.clear_faults()
    assert event["detail-type"] == "LipSync Job Failed"
    assert event["detail"]["error"]["name"] == "ExecutionAbortedError"
    assert_valid(EVENT_SCHEMAS[event["detail-type"]], event["detail"])
    assert requests.get(api(limited, f"/jobs/{job_id}"), timeout=30).json()["status"] == "FAILED"
    until(lambda: job_id not in flow(limited).holders(Mode.LITE))
    assert len(terminal_events(limited, job_id)) == 1


def test_a_failing_record_failure_step_still_ends_the_job_once(
    limited: LocalRuntime, request_body: dict[str, Any]
) -> None:
    assert limited.stack
    step = limited.stack.registry.named("recordfailure")

    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("the job record could not be updated (simulated)")

    saved_load, saved_idle = step.load, list(step.idle)
    step.load, step.idle = (lambda: broken), []
    limited.emulator.admin.add_faults({"fault": "task_failed", "code": 50413, "count": 1})
    try:
        job_id = requests.post(api(limited, "/jobs"), json=request_body, timeout=30).json()["job_id"]
        event = limited.wait_for_terminal_event(job_id)
    finally:
        step.load, step.idle = saved_load, saved_idle
        limited.emulator.admin.clear_faults()
    assert event["detail-type"] == "LipSync Job Failed"
    assert "LipSyncFailureNotRecorded" in event["detail"]["error"]["message"]
    assert requests.get(api(limited, f"/jobs/{job_id}"), timeout=30).json()["status"] == "FAILED"
    assert job_id not in flow(limited).holders(Mode.LITE)
    assert len(terminal_events(limited, job_id)) == 1


def test_an_announcement_that_fails_is_made_by_the_reconciler(
    limited: LocalRuntime, request_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.events.models import EventsBackend

    original = EventsBackend.put_events
    refused: list[str] = []
    job_id = "announce-late"

    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The workflow's PutEvents (one try and four retries) is refused; the reconciler's passes.
        if len(refused) < 5 and any(
            job_id in e.get("Detail", "") and "Succeeded" in e["DetailType"] for e in events
        ):
            refused.append(job_id)
            return [{"ErrorCode": "InternalFailure", "ErrorMessage": "simulated"} for _ in events]
        return original(self, events)

    monkeypatch.setattr(EventsBackend, "put_events", put_events)
    requests.post(api(limited, "/jobs"), json={**request_body, "job_id": job_id}, timeout=30)
    event = limited.wait_for_terminal_event(job_id)
    assert len(refused) == 5
    assert event["detail-type"] == "LipSync Job Succeeded"
    assert_valid(EVENT_SCHEMAS[event["detail-type"]], event["detail"])
    assert event["detail"]["output"]["key"] == f"outputs/{job_id}.mp4"
    assert len(terminal_events(limited, job_id)) == 1


def test_the_template_is_what_runs(limited: LocalRuntime, tmp_path: Path) -> None:
    """The reconciler is one of the stack's functions, and its rule is mirrored locally."""
    assert limited.stack
    assert limited.dispatcher
    assert "reconcile" in limited.stack.registry.named("reconcile").name.lower()
    assert any("reconcile" in route.function.lower() for route in limited.dispatcher.routes)
