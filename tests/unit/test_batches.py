"""A batch's end is announced once, however often (and in whatever order) its jobs' terminal events
arrive: EventBridge delivers at least once. moto plays DynamoDB and EventBridge."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry import batches
from tests.support.schemas import EVENT_SCHEMAS, assert_valid


@pytest.fixture
def batch_stack(store: JobStore) -> dict[str, Any]:
    """The job table, a bus, and a queue that receives everything announced on it."""
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name="lipsync")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="lipsync", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="all", EventBusName="lipsync", Targets=[{"Id": "q", "Arn": arn}])
    settings = Settings.model_validate({"JOB_TABLE_NAME": "jobs", "EVENT_BUS_NAME": "lipsync"})
    return {"store": store, "events": events, "sqs": sqs, "queue": queue, "settings": settings}


def announced(batch_stack: dict[str, Any]) -> list[dict[str, Any]]:
    messages = (
        batch_stack["sqs"]
        .receive_message(QueueUrl=batch_stack["queue"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def test_the_end_is_announced_once(batch_stack: dict[str, Any]) -> None:
    batch_id = batches.batch_id_for("unit", "once")
    request = json.dumps({"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav"})
    summary, valid, created = batches.register_batch(
        f"{request}\n{{broken\n{request}",
        batch_id=batch_id,
        store=batch_stack["store"],
        settings=batch_stack["settings"],
    )
    assert (created, list(valid), summary["total"], summary["rejected_lines"]) == (True, [1, 3], 2, 1)
    first, third = (batches.batch_job_id(batch_id, n) for n in (1, 3))

    def ended(job_id: str, status: str) -> bool:
        return batches.record_ended(
            job_id,
            status,
            store=batch_stack["store"],
            events_client=batch_stack["events"],
            settings=batch_stack["settings"],
        )

    assert ended(first, "SUCCEEDED") is False
    assert ended(first, "SUCCEEDED") is False  # a redelivery counts once
    assert announced(batch_stack) == []
    assert ended(third, "FAILED") is True
    assert ended(third, "FAILED") is False
    assert ended(first, "SUCCEEDED") is False
    [event] = announced(batch_stack)
    assert event["detail-type"] == "LipSync Batch Finished"
    assert_valid(EVENT_SCHEMAS["LipSync Batch Finished"], event["detail"])
    assert (event["detail"]["succeeded"], event["detail"]["failed"], event["detail"]["rejected_lines"]) == (
        1,
        1,
        1,
    )
    assert batches.summary(batches.get_batch(batch_id, store=batch_stack["store"]))["status"] == "FINISHED"
    assert ended("api-0123", "SUCCEEDED") is False  # not a batch's job


def test_a_different_batch_under_the_same_id_is_a_conflict(batch_stack: dict[str, Any]) -> None:
    from lipsync_core.jobs.domain.errors import JobConflictError, RequestRejectedError

    batch_id = batches.batch_id_for("unit", "conflict")
    line = json.dumps({"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav"})
    batches.register_batch(
        line, batch_id=batch_id, store=batch_stack["store"], settings=batch_stack["settings"]
    )
    assert (
        batches.register_batch(
            line, batch_id=batch_id, store=batch_stack["store"], settings=batch_stack["settings"]
        )[2]
        is False
    )
    with pytest.raises(JobConflictError):
        batches.register_batch(
            line + "\n" + line,
            batch_id=batch_id,
            store=batch_stack["store"],
            settings=batch_stack["settings"],
        )
    with pytest.raises(RequestRejectedError, match="limit is 500"):
        batches.register_batch(
            "\n".join([line] * 501),
            batch_id="batch-" + "1" * 32,
            store=batch_stack["store"],
            settings=batch_stack["settings"],
        )
