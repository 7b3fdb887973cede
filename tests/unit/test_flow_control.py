"""The stack-wide limiter against moto's DynamoDB, under concurrent threads: rate slots never exceed
the rate in any one-second window, unfinished-task slots never exceed the limit, each slot is
released exactly once, and a slot held by a job that has ended is recovered by the sweep."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lipsync.local.seams import atomic_dynamodb_writes
from lipsync_core.jobs.access.flow_control import RATE_MARGIN, FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.flow_limits import POLL, SUBMIT, FlowLimits, ModeLimits
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.steps.reconcile import Reconciler
from lipsync_core.volc import Mode


@pytest.fixture
def tables() -> Iterator[dict[str, Any]]:
    with mock_aws(), atomic_dynamodb_writes():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        flow = dynamodb.create_table(
            TableName="flow",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        jobs = dynamodb.create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "job_id", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
                {"AttributeName": "created_at", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-status",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield {"flow": flow, "jobs": jobs}


def test_rate_slots_never_exceed_the_rate_in_any_window(tables: dict[str, Any]) -> None:
    flow = FlowControl(tables["flow"], FlowLimits({"lite": ModeLimits(poll_qps=4)}))
    admitted: list[float] = []
    lock = threading.Lock()
    stop_at = time.time() + 2.5

    def caller() -> None:
        while time.time() < stop_at:
            admission = flow.admit(POLL, Mode.LITE)
            if admission.admitted:
                with lock:
                    admitted.append(admission.slot)  # the limiter's decision, not the thread's wake-up
                time.sleep(admission.sleep)
            else:
                time.sleep(min(admission.retry_after, 0.2))

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(caller)
    admitted.sort()
    assert len(admitted) >= 6  # the rate was used, not starved
    busiest = max(sum(1 for t in admitted if start <= t < start + 1) for start in admitted)
    assert busiest <= 4
    # The spacing is the configured rate less the margin, never closer (allowing the stored grain).
    gaps = [b - a for a, b in itertools.pairwise(admitted)]
    assert min(gaps) >= 1 / (4 * RATE_MARGIN) - 1e-5


def test_a_caller_beyond_the_horizon_takes_nothing_and_is_told_how_long(tables: dict[str, Any]) -> None:
    now = [1000.0]
    flow = FlowControl(
        tables["flow"], FlowLimits({"lite": ModeLimits(submit_qps=1)}), horizon=2.0, clock=lambda: now[0]
    )
    # Slots 1/(1 * margin) s apart: now, and 1.11 s ahead are within 2 s; the third is not.
    answers = [flow.admit(SUBMIT, Mode.LITE) for _ in range(3)]
    assert [a.admitted for a in answers] == [True, True, False]
    assert [round(a.sleep, 2) for a in answers[:2]] == [0, round(1 / RATE_MARGIN, 2)]
    assert answers[2].retry_after > 0
    now[0] += answers[2].retry_after + 0.01  # once that long has passed, a slot is within reach
    assert flow.admit(SUBMIT, Mode.LITE).admitted
    # Other modes and other actions have buckets of their own.
    assert flow.admit(POLL, Mode.LITE).admitted
    assert flow.admit(SUBMIT, Mode.BASIC).admitted


def test_unfinished_task_slots_never_exceed_the_limit_and_are_released_once(tables: dict[str, Any]) -> None:
    flow = FlowControl(tables["flow"], FlowLimits.uniform(qps=0, max_unfinished=3))
    holding: set[str] = set()
    most = 0
    lock = threading.Lock()

    def job(index: int) -> int:
        nonlocal most
        job_id = f"job-{index}"
        tries = 0
        while not flow.acquire_slot(job_id, Mode.LITE):
            tries += 1
            time.sleep(0.005)
        assert flow.acquire_slot(job_id, Mode.LITE)  # idempotent for its holder
        with lock:
            holding.add(job_id)
            most = max(most, len(holding))
        time.sleep(0.1)  # long beside a thread's start, so that the others find the slots taken
        with lock:
            holding.discard(job_id)
        # Two releases race (the workflow and the reconciler): exactly one of them frees the slot.
        with ThreadPoolExecutor(2) as pool:
            released = list(pool.map(lambda _: flow.release_slot(job_id, Mode.LITE), range(2)))
        assert sorted(released) == [False, True]
        return tries

    with ThreadPoolExecutor(12) as pool:
        waited = list(pool.map(job, range(24)))
    assert most <= 3
    assert sum(waited) > 0  # the limit was really reached: some acquisitions were refused
    assert flow.holders(Mode.LITE) == {}
    assert flow.running(Mode.LITE) == 0


def test_the_line_counts_the_jobs_ahead(tables: dict[str, Any]) -> None:
    flow = FlowControl(tables["flow"], FlowLimits({"lite": ModeLimits(submit_qps=2, max_unfinished=1)}))
    tickets = [flow.take_ticket(Mode.LITE) for _ in range(5)]
    assert tickets == [1, 2, 3, 4, 5]
    position, seconds = flow.line(tickets[3], Mode.LITE)
    assert position == 3
    assert seconds == pytest.approx(4 / (2 * RATE_MARGIN))  # three ahead, then its own turn
    assert flow.acquire_slot("first", Mode.LITE, ticket=tickets[0])
    assert flow.line(tickets[3], Mode.LITE)[0] == 2


def test_a_slot_held_by_a_job_that_ended_is_recovered_by_the_sweep(tables: dict[str, Any]) -> None:
    flow = FlowControl(tables["flow"], FlowLimits.uniform(qps=0, max_unfinished=2))
    store = JobStore(tables["jobs"])
    request = JobRequest.model_validate(
        {"mode": "lite", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}
    )
    for job_id in ("ended", "running"):
        store.create(job_id, request, deadline_epoch=int(time.time()) + 3600)
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


def test_a_timed_out_execution_ends_its_job_once_with_the_deadline_as_reason(tables: dict[str, Any]) -> None:
    flow = FlowControl(tables["flow"], FlowLimits.uniform(qps=0, max_unfinished=2))
    store = JobStore(tables["jobs"])
    request = JobRequest.model_validate(
        {"mode": "basic", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}
    )
    store.create("late", request, deadline_epoch=int(time.time()))
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
