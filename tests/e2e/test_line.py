"""The line end to end (issue 18): the local stack synthesized with a job deadline shorter than the
drain, the emulator allowing 2 unfinished tasks. Jobs wait in the line paused on a task token, the
dispatcher admits them as slots come back, highest priority first and first in, first out within one;
a waiting job cancelled pays nothing; racing triggers admit each job once; the sweep covers a failed
dispatcher; a leaked slot is recovered and handed on (the line's bound: ``test_line_bound.py``). Slots
are held in these tests by writing holders into the flow table, as a job elsewhere would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import requests

from lipsync.local.aws_events import scheduled_event
from lipsync.local.lambda_functions import LocalFunction
from lipsync.local.runtime import LocalRuntime
from lipsync_core.volc import Mode
from tests.support.line import Jobs, runtime, until

pytestmark = [pytest.mark.xdist_group("e2e-line"), pytest.mark.slow]
SLOTS = 2
# Seconds of paid work a job may take: tasks take about 0.7 s here, and the drain at least 14 s (20 turns
# of 2 slots), so the drain outlasts the deadline whatever the machine's pace.
DEADLINE = 10
SUCCEEDED, CANCELLED = "LipSync Job Succeeded", "LipSync Job Cancelled"


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    yield from runtime(tmp_path_factory.mktemp("line"), {"lipsync:job_deadline_seconds": DEADLINE}, SLOTS)


def test_a_drop_longer_than_the_deadline_succeeds_whole_each_job_paid_once(line: LocalRuntime) -> None:
    jobs, ids = Jobs(line, SLOTS), [f"drop-{n}" for n in range(40)]
    paid = jobs.paid()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(jobs.post, ids))
    assert Counter(jobs.ended(ids).values()) == {SUCCEEDED: 40}
    assert jobs.paid() - paid == 40
    records = {j: jobs.get(f"/jobs/{j}") for j in ids}
    assert {(r["status"], r["attempt"]) for r in records.values()} == {("SUCCEEDED", 1)}
    # The scene: the drain outlasted the job deadline (tasks end no sooner than the service's time).
    first_submitted = sorted(submitted_at(r) for r in records.values())
    assert first_submitted[0] < first_submitted[-1]
    span = time_between(min(r["created_at"] for r in records.values()), first_submitted[-1])
    assert span > DEADLINE, "the drain must outlast the deadline for this test to mean anything"
    for job_id in ids:
        assert jobs.announced(job_id) == 1
        assert jobs.entered(job_id, "WaitForAdmission") == 1  # waiting cost the same, however long
    assert jobs.flow.holders(Mode.LITE) == {}  # every slot came back
    assert [m["waiting"] for m in jobs.get("/queue")["modes"]] == [0, 0]


def submitted_at(record: dict[str, Any]) -> str:
    return str(next(entry["at"] for entry in record["history"] if entry["status"] == "SUBMITTED"))


def time_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_higher_priorities_first_fifo_within_one_and_a_cancelled_waiter_pays_nothing(
    line: LocalRuntime,
) -> None:
    jobs = Jobs(line, SLOTS)
    jobs.hold("elsewhere-1", "elsewhere-2")
    paid = jobs.paid()
    arrivals = [("n1", "normal"), ("l1", "low"), ("n2", "normal"), ("h1", "high"), ("n3", "normal")]
    for job_id, priority in arrivals:
        jobs.post(job_id, priority=priority)
        jobs.waiting(job_id)  # in the line before the next arrives: first in, first out is well defined
    places = jobs.waiting(*(job_id for job_id, _ in arrivals))
    assert {j: p["position"] for j, p in places.items()} == {"h1": 1, "n1": 2, "n2": 3, "n3": 4, "l1": 5}
    assert {j: p["ahead"] for j, p in places.items()} == {"h1": 0, "n1": 1, "n2": 2, "n3": 3, "l1": 4}
    [lite] = [m for m in jobs.get("/queue")["modes"] if m["mode"] == "lite"]
    assert (lite["waiting"], lite["running"]) == (5, SLOTS)
    assert {p["priority"]: p["waiting"] for p in lite["priorities"]} == {"high": 1, "normal": 3, "low": 1}

    assert requests.delete(f"{jobs.api}/jobs/n2", timeout=60).status_code == 200
    assert jobs.ended(["n2"]) == {"n2": CANCELLED}
    # Stopped while paused on its token (locally the stop wakes the task as if its wait had timed out,
    # and the execution may end FAILED rather than ABORTED): either way no second terminal event.
    assert jobs.ended_as("n2") in ("ABORTED", "FAILED")
    assert {j: p["position"] for j, p in jobs.waiting("n3", "l1").items()} == {"n3": 3, "l1": 4}  # moved up

    jobs.release("elsewhere-1")  # one slot: each job is admitted only once the one before has ended
    order = ["h1", "n1", "n3", "l1"]
    assert jobs.ended(order) == dict.fromkeys(order, SUCCEEDED)
    jobs.release("elsewhere-2")
    submitted = {j: submitted_at(jobs.get(f"/jobs/{j}")) for j in order}
    assert sorted(order, key=submitted.__getitem__) == order
    assert jobs.paid() - paid == 4  # the cancelled job paid nothing
    cancelled = jobs.get("/jobs/n2")
    assert (cancelled["status"], cancelled["attempt"]) == ("CANCELLED", 0)
    assert jobs.announced("n2") == 1


def test_racing_triggers_admit_each_job_once(line: LocalRuntime) -> None:
    jobs, ids = Jobs(line, SLOTS), [f"race-{n}" for n in range(6)]
    assert line.stack
    registry = line.stack.registry
    dispatch = next(name for name in registry.functions if name.endswith("dispatch"))
    jobs.hold("elsewhere-5", "elsewhere-6")
    paid = jobs.paid()
    for job_id in ids:
        jobs.post(job_id)
    jobs.waiting(*ids)
    release = {"eventName": "MODIFY", "dynamodb": {"Keys": {"key": {"S": "slots#lite"}}}}
    # The release (whose stream record starts a run), the schedule and stream records, all at once.
    triggers: list[Callable[[], Any]] = [lambda: jobs.release("elsewhere-5", "elsewhere-6")]
    triggers += [lambda: registry.call(dispatch, scheduled_event())] * 3
    triggers += [lambda: registry.call(dispatch, stream_event(release))] * 3
    with ThreadPoolExecutor(len(triggers)) as pool:
        list(pool.map(lambda trigger: trigger(), triggers))
    assert jobs.ended(ids) == dict.fromkeys(ids, SUCCEEDED)
    assert jobs.paid() - paid == len(ids)
    for job_id in ids:
        resumed = [e for e in jobs.history(job_id) if e["type"] == "TaskSucceeded"]
        assert len([e for e in resumed if "admitted_at" in e["taskSucceededEventDetails"]["output"]]) == 1
        assert jobs.announced(job_id) == 1
    assert jobs.flow.holders(Mode.LITE) == {}


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    """The flow table's stream, as the event source mapping delivers it."""
    return {
        "Records": [
            {
                "eventID": str(n),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/flow/stream/2026",
                **record,
                "dynamodb": {
                    "SequenceNumber": str(n),
                    "SizeBytes": 10,
                    "StreamViewType": "NEW_IMAGE",
                    **record["dynamodb"],
                },
            }
            for n, record in enumerate(records)
        ]
    }


def test_a_failing_dispatcher_is_covered_by_the_sweep(line: LocalRuntime) -> None:
    jobs = Jobs(line, SLOTS)
    assert line.stack
    functions = line.stack.registry.functions
    name = next(name for name in functions if name.endswith("dispatch"))
    working = functions[name]
    handler = working.load()

    def fails_on_releases(event: Any, context: Any) -> Any:
        if "Records" in event:
            raise RuntimeError("the dispatcher failed (simulated)")
        return handler(event, context)

    jobs.hold("elsewhere-3", "elsewhere-4")
    jobs.post("swept")
    jobs.waiting("swept")
    failed_before = failures(line, "dispatch")
    functions[name] = LocalFunction(name, lambda: fails_on_releases, working.memory, working.timeout)
    try:
        jobs.release("elsewhere-3", "elsewhere-4")
        until(lambda: failures(line, "dispatch") > failed_before)  # the release reached it, and it failed
        assert jobs.ended(["swept"]) == {"swept": SUCCEEDED}  # the schedule admitted the job
    finally:
        functions[name] = working
    assert jobs.flow.holders(Mode.LITE) == {}


def failures(local: LocalRuntime, suffix: str) -> int:
    assert local.stack
    return sum(1 for name, ok in local.stack.registry.invocations if name.endswith(suffix) and not ok)


def test_a_leaked_slot_is_recovered_and_handed_on(line: LocalRuntime) -> None:
    jobs = Jobs(line, SLOTS)
    assert line.stack
    jobs.leak("leaked-1", "leaked-2")  # holders that no job record backs: their executions are long gone
    jobs.post("after-leak")
    assert jobs.waiting("after-leak")["after-leak"]["position"] == 1
    reconcile = next(name for name in line.stack.registry.functions if name.endswith("reconcile"))
    assert line.stack.registry.call(reconcile, scheduled_event())["released"] == 2  # the sweep, now
    assert jobs.ended(["after-leak"]) == {"after-leak": SUCCEEDED}
    assert jobs.flow.holders(Mode.LITE) == {}
