"""The stack-wide limiter against moto's DynamoDB, under concurrent threads and on a clock the tests
move: rate slots never exceed the rate in any one-second window, unfinished-task slots never exceed
the limit, each slot is released exactly once, and a slot held by a job that has ended is recovered
by the sweep."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from lipsync_core.jobs.access.flow_control import DEFAULT_HORIZON, RATE_MARGIN, FlowControl, Slot
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.flow_limits import POLL, SUBMIT, FlowLimits, ModeLimits
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.steps.reconcile import Reconciler
from lipsync_core.volc import Mode

START = 1_000_000.0  # the injected clock's epoch seconds when a test begins


class Clock:
    """The limiter's clock: it moves only when a test moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def at_once(calls: list[Any]) -> list[Any]:
    """Each call in a thread of its own, all released together; their answers in order."""
    start = threading.Barrier(len(calls))

    def call(function: Any) -> Any:
        start.wait()
        return function()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(call, calls))


def test_rate_slots_never_exceed_the_rate_in_any_window(flow_table: Any) -> None:
    clock = Clock()
    flow = FlowControl(flow_table, FlowLimits({"lite": ModeLimits(poll_qps=4)}), clock=clock)
    admitted: list[float] = []
    lock = threading.Lock()
    callers, tick = 8, 0.25

    def caller() -> None:
        """Takes every slot it can get at this moment, until it is told to wait."""
        while (admission := flow.admit(POLL, Mode.LITE)).admitted:
            assert admission.slot >= clock()  # never in the past
            with lock:
                admitted.append(admission.slot)  # the limiter's decision, not the thread's wake-up

    for _ in range(12):  # three seconds, a quarter of a second at a time, the callers racing at each
        at_once([caller] * callers)
        clock.advance(tick)
    admitted.sort()
    interval, last = 1 / (4 * RATE_MARGIN), clock() - tick  # last: the last moment the callers asked
    # The rate was used, not starved: every slot from the first moment to the horizon after the last.
    assert admitted[0] == START
    assert last + DEFAULT_HORIZON - interval < admitted[-1] <= last + DEFAULT_HORIZON
    busiest = max(sum(1 for t in admitted if start <= t < start + 1) for start in admitted)
    assert busiest <= 4
    # The spacing is the configured rate less the margin, neither closer nor further (the stored grain).
    gaps = [b - a for a, b in itertools.pairwise(admitted)]
    assert interval - 1e-5 <= min(gaps) <= max(gaps) <= interval + 1e-5


def test_a_caller_beyond_the_horizon_takes_nothing_and_is_told_how_long(flow_table: Any) -> None:
    clock = Clock()
    flow = FlowControl(flow_table, FlowLimits({"lite": ModeLimits(submit_qps=1)}), horizon=2.0, clock=clock)
    # Slots 1/(1 * margin) s apart: now, and 1.11 s ahead are within 2 s; the third is not.
    answers = [flow.admit(SUBMIT, Mode.LITE) for _ in range(3)]
    assert [a.admitted for a in answers] == [True, True, False]
    assert [round(a.sleep, 2) for a in answers[:2]] == [0, round(1 / RATE_MARGIN, 2)]
    assert answers[2].retry_after > 0
    clock.advance(answers[2].retry_after + 0.01)  # once that long has passed, a slot is within reach
    assert flow.admit(SUBMIT, Mode.LITE).admitted
    # Other modes and other actions have buckets of their own.
    assert flow.admit(POLL, Mode.LITE).admitted
    assert flow.admit(SUBMIT, Mode.BASIC).admitted


def test_unfinished_task_slots_never_exceed_the_limit_and_are_released_once(flow_table: Any) -> None:
    clock = Clock()
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=3), clock=clock)
    waiting = [f"job-{index}" for index in range(24)]
    while waiting:  # every waiting job asks at once; the slots go round until all have been served
        granted = at_once([lambda job_id=job_id: flow.acquire_slot(job_id, Mode.LITE) for job_id in waiting])
        holders = [job_id for job_id, got in zip(waiting, granted, strict=True) if got]
        assert len(holders) == min(3, len(waiting))  # the limit is reached, never exceeded
        assert set(flow.holders(Mode.LITE)) == set(holders)
        assert all(flow.acquire_slot(job_id, Mode.LITE) for job_id in holders)  # idempotent for its holder
        clock.advance(1.0)
        # Two releases race per job (the workflow and the reconciler): exactly one of them frees the slot.
        releases = [lambda job_id=job_id: flow.release_slot(job_id, Mode.LITE) for job_id in holders * 2]
        released = at_once(releases)
        first, second = released[: len(holders)], released[len(holders) :]
        assert all(a != b for a, b in zip(first, second, strict=True))  # one True, one False per job
        waiting = [job_id for job_id in waiting if job_id not in holders]
    assert flow.holders(Mode.LITE) == {}
    assert flow.running(Mode.LITE) == 0


def test_a_slot_is_taken_once_per_holder_and_its_release_says_so(flow_table: Any) -> None:
    clock = Clock()
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=1), clock=clock)
    # Two admissions of one holder race: one takes the slot, the other learns it is held, not full.
    assert sorted(s.value for s in at_once([lambda: flow.take_slot("job", Mode.LITE)] * 2)) == [
        "held",
        "taken",
    ]
    assert flow.take_slot("other", Mode.LITE) is Slot.FULL
    clock.advance(2.5)
    assert flow.release_slot("job", Mode.LITE)
    item = flow_table.get_item(Key={"key": flow.slots_key(Mode.LITE.req_key)})["Item"]
    # The release is what the dispatcher's stream filter matches: what happened, to whom, when.
    assert (item["last_change"], item["released"], float(item["released_at"])) == ("release", "job", clock())
    assert flow.take_slot("other", Mode.LITE) is Slot.TAKEN
    assert (
        flow_table.get_item(Key={"key": flow.slots_key(Mode.LITE.req_key)})["Item"]["last_change"]
        == "acquire"
    )


def test_task_times_are_a_moving_estimate_per_mode(flow_table: Any) -> None:
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=1))
    assert flow.task_times(Mode.LITE) is None
    flow.record_task_time(Mode.LITE, 100.0)
    flow.record_task_time(Mode.LITE, 60.0)
    times = flow.task_times(Mode.LITE)
    assert times is not None
    assert (times.seconds, times.samples) == (90.0, 2)  # a quarter of the way to the new observation
    assert flow.task_times(Mode.BASIC) is None


def test_the_rate_can_be_read_without_taking_a_slot(flow_table: Any) -> None:
    clock = Clock()
    flow = FlowControl(flow_table, FlowLimits({"lite": ModeLimits(submit_qps=1)}), horizon=2.0, clock=clock)
    assert flow.rate_wait(SUBMIT, Mode.LITE) == 0
    while flow.admit(SUBMIT, Mode.LITE).admitted:
        pass
    wait = flow.rate_wait(SUBMIT, Mode.LITE)
    assert 0 < wait <= 1 / RATE_MARGIN
    before = flow_table.get_item(Key={"key": flow.rate_key(SUBMIT, Mode.LITE.req_key)})["Item"]
    assert flow.rate_wait(SUBMIT, Mode.LITE) == wait  # reading took nothing
    assert flow_table.get_item(Key={"key": flow.rate_key(SUBMIT, Mode.LITE.req_key)})["Item"] == before
    clock.advance(wait)
    assert flow.admit(SUBMIT, Mode.LITE).admitted


def test_a_slot_held_by_a_job_that_ended_is_recovered_by_the_sweep(flow_table: Any, store: JobStore) -> None:
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=2))
    request = JobRequest.model_validate(
        {"mode": "lite", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}
    )
    for job_id in ("ended", "running"):
        store.create(job_id, request)
        assert flow.acquire_slot(job_id, Mode.LITE)
    assert not flow.acquire_slot("newcomer", Mode.LITE)  # full
    store.finish("ended", "FAILED", error={"name": "X", "message": "the execution died unnoticed"})
    assert flow.acquire_slot("vanished", Mode.BASIC)  # no record at all: released too

    reconciler = Reconciler(
        store=store,
        flow=flow,
        events_client=boto3.client("events", region_name="us-east-1"),
        stepfunctions=boto3.client("stepfunctions", region_name="us-east-1"),
        settings=Settings.model_validate({"JOB_TABLE_NAME": "jobs"}),
    )
    assert reconciler.sweep()["released"] == 2
    assert set(flow.holders(Mode.LITE)) == {"running"}
    assert flow.holders(Mode.BASIC) == {}
    assert flow.acquire_slot("newcomer", Mode.LITE)


def test_a_timed_out_execution_ends_its_job_once_with_the_deadline_as_reason(
    flow_table: Any, store: JobStore
) -> None:
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=2))
    request = JobRequest.model_validate(
        {"mode": "basic", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}
    )
    store.create("late", request)
    assert flow.acquire_slot("late", Mode.BASIC)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="announced")["QueueUrl"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="all", EventPattern='{"source": ["lipsync.pipeline"]}')
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    reconciler = Reconciler(
        store=store,
        flow=flow,
        events_client=events,
        stepfunctions=boto3.client("stepfunctions", region_name="us-east-1"),
        settings=Settings.model_validate({"JOB_TABLE_NAME": "jobs", "JOB_DEADLINE_SECONDS": "600"}),
    )
    assert reconciler.execution_ended("late", "TIMED_OUT") == "slot released; marked FAILED"
    assert reconciler.execution_ended("late", "TIMED_OUT") == "nothing held"  # a redelivery does nothing
    record = store.get("late")
    assert record.status == "FAILED"
    assert record.error is not None
    assert record.error["name"] == "JobDeadlineExceededError"
    assert "deadline of 600 s" in record.error["message"]
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert flow.holders(Mode.BASIC) == {}


def test_the_sweep_reads_every_stale_job_page_after_page(store: JobStore) -> None:
    # Given more stale QUEUED jobs than one page holds (each page's items read through BatchGetItem:
    # the indexes hold keys only)
    request = JobRequest.model_validate(
        {"mode": "lite", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}
    )
    for index in range(7):
        store.create(f"stale-{index}", request)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="milliseconds")

    # When the sweep looks for them three at a time
    pages = list(store.created_before("QUEUED", later, page_size=3))

    # Then every one is found, whole, oldest first
    assert [len(page) for page in pages] == [3, 3, 1]
    found = [record for page in pages for record in page]
    assert [r.job_id for r in found] == [f"stale-{index}" for index in range(7)]
    assert all(r.request.mode == Mode.LITE for r in found)
