"""End to end through the local runtime (moto in server mode, the synthesized stack, the emulator,
triggers delivered as AWS would): jobs by manifest, API and EventBridge; failures; duplicates; and
a result that plays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from lipsync.local.runtime import LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.entry.requests import derive_job_id
from tests.support.media import audio_samples, envelope_correlation, streams_and_durations
from tests.support.schemas import EVENT_SCHEMAS, assert_valid

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]


@pytest.fixture(scope="module")
def inputs(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("e2e-media")
    video = make_talking_head(folder / "face.mp4", seconds=1.5, width=160, height=120)
    audio = make_voice(folder / "voice.wav", seconds=3.0)
    assert runtime.endpoints
    bucket = runtime.endpoints.bucket
    s3 = runtime.client("s3")
    s3.upload_file(str(video), bucket, "inputs/face.mp4")
    s3.upload_file(str(audio), bucket, "inputs/voice.wav")
    return {
        "request": {
            "mode": "lite",
            "video": f"s3://{bucket}/inputs/face.mp4",
            "audio": f"s3://{bucket}/inputs/voice.wav",
        },
        "voice": audio,
        "bucket": bucket,
    }


@pytest.fixture(autouse=True)
def no_faults_left(runtime: LocalRuntime) -> Iterator[None]:
    yield
    runtime.emulator.admin.clear_faults()


def terminal(runtime: LocalRuntime, job_id: str) -> dict[str, Any]:
    event = runtime.wait_for_terminal_event(job_id, timeout=90)
    assert_valid(EVENT_SCHEMAS[event["detail-type"]], event["detail"])
    return event


def test_a_job_by_api_and_its_result_plays(
    runtime: LocalRuntime, inputs: dict[str, Any], tmp_path: Path
) -> None:
    assert runtime.endpoints
    answer = requests.post(f"{runtime.endpoints.api}/jobs", json=inputs["request"], timeout=30)
    assert answer.status_code == 202
    event = terminal(runtime, answer.json()["job_id"])
    assert event["detail-type"] == "LipSync Job Succeeded"
    result = tmp_path / "result.mp4"
    runtime.client("s3").download_file(inputs["bucket"], event["detail"]["output"]["key"], str(result))
    info = streams_and_durations(result)
    assert abs(info["video"] - 3.0) <= 1 / info["fps"]
    assert abs(info["audio"] - 3.0) <= 1 / info["fps"]
    assert envelope_correlation(audio_samples(result), audio_samples(inputs["voice"])) > 0.95


def test_a_job_by_manifest_upload(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    assert runtime.endpoints
    request = {**inputs["request"], "options": {"align_audio_reverse": True}}
    key = "jobs/e2e manifest+1 été.json"
    answer = runtime.client("s3").put_object(
        Bucket=inputs["bucket"], Key=key, Body=json.dumps(request).encode()
    )
    # The job id the start function derives from the notification: bucket, key and (moto sends no
    # version id) ETag. Waiting for its terminal event proves the notification really arrived.
    job_id = derive_job_id("s3", inputs["bucket"], key, answer["ETag"].strip('"'))
    assert terminal(runtime, job_id)["detail-type"] == "LipSync Job Succeeded"
    job = requests.get(f"{runtime.endpoints.api}/jobs/{job_id}", timeout=10).json()
    assert (job["source"], job["request"]["options"]) == ("s3", {"align_audio_reverse": True})


def test_a_job_by_eventbridge_event(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    assert runtime.endpoints
    answer = runtime.client("events").put_events(
        Entries=[
            {
                "EventBusName": runtime.endpoints.bus,
                "Source": "lipsync.client",  # one of the request rule's allowed sources
                "DetailType": "LipSync Job Requested",
                "Detail": json.dumps(
                    {**inputs["request"], "mode": "basic", "options": {"open_scenedet": True}}
                ),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0
    job_id = f"eb-{answer['Entries'][0]['EventId']}"
    event = terminal(runtime, job_id)
    assert event["detail-type"] == "LipSync Job Succeeded"
    assert event["detail"]["mode"] == "basic"


def test_a_terminal_failure(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    assert runtime.endpoints
    runtime.emulator.admin.add_faults(
        {"fault": "task_failed", "code": 50413, "message": "Post Text Risk Not Pass", "count": 1}
    )
    job_id = requests.post(f"{runtime.endpoints.api}/jobs", json=inputs["request"], timeout=30).json()[
        "job_id"
    ]
    event = terminal(runtime, job_id)
    assert event["detail-type"] == "LipSync Job Failed"
    assert event["detail"]["error"]["code"] == 50413
    assert "Post Text Risk Not Pass" in event["detail"]["error"]["message"]
    job = requests.get(f"{runtime.endpoints.api}/jobs/{job_id}", timeout=10).json()
    assert job["status"] == "FAILED"
    listed = runtime.client("s3").list_objects_v2(Bucket=inputs["bucket"], Prefix=f"outputs/{job_id}")
    assert listed.get("KeyCount", 0) == 0


def test_a_transient_fault_is_retried_to_success(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    assert runtime.endpoints
    runtime.emulator.admin.add_faults(
        {"fault": "throttle", "action": "CVGetResult", "count": 2},
        {"fault": "internal", "action": "CVSubmitTask", "count": 1},
    )
    before = runtime.emulator.admin.submissions()["total"]
    job_id = requests.post(f"{runtime.endpoints.api}/jobs", json=inputs["request"], timeout=30).json()[
        "job_id"
    ]
    assert terminal(runtime, job_id)["detail-type"] == "LipSync Job Succeeded"
    assert runtime.emulator.admin.submissions()["total"] == before + 1
    assert all(rule["fired"] == rule["count"] for rule in runtime.emulator.admin.faults())


def test_duplicate_triggers_start_one_job(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    assert runtime.endpoints
    assert runtime.dispatcher
    headers = {"Idempotency-Key": "e2e-duplicate"}
    first = requests.post(
        f"{runtime.endpoints.api}/jobs", json=inputs["request"], headers=headers, timeout=30
    )
    second = requests.post(
        f"{runtime.endpoints.api}/jobs", json=inputs["request"], headers=headers, timeout=30
    )
    assert first.json()["job_id"] == second.json()["job_id"]
    assert terminal(runtime, first.json()["job_id"])["detail-type"] == "LipSync Job Succeeded"

    # The same S3 notification delivered three times (at-least-once delivery): one job.
    # The bucket's notifications in template order: jobs/*.json (one job), then jobs/*.jsonl (batches).
    s3_route, _ = sorted(
        (r for r in runtime.dispatcher.routes if "s3" in r.queue_url), key=lambda r: r.queue_url
    )
    body = {
        "Records": [
            {
                "s3": {
                    "bucket": {"name": inputs["bucket"]},
                    "object": {"key": "jobs/dup.json", "size": 10, "eTag": "abc123"},
                }
            }
        ]
    }
    runtime.client("s3").put_object(
        Bucket=inputs["bucket"],
        Key="jobs/dup.json",
        Body=json.dumps({**inputs["request"], "job_id": "e2e-dup"}).encode(),
    )
    sqs = runtime.client("sqs")
    for _ in range(3):
        sqs.send_message(QueueUrl=s3_route.queue_url, MessageBody=json.dumps(body))
    assert terminal(runtime, "e2e-dup")["detail-type"] == "LipSync Job Succeeded"
    executions = runtime.client("stepfunctions").list_executions(
        stateMachineArn=runtime.endpoints.state_machine_arn
    )["executions"]
    assert [e["name"] for e in executions].count("e2e-dup") == 1


def test_a_bad_manifest_is_reported(runtime: LocalRuntime, inputs: dict[str, Any]) -> None:
    s3 = runtime.client("s3")
    s3.put_object(Bucket=inputs["bucket"], Key="jobs/broken.json", Body=b"{nope")
    event = runtime.wait_for_event(
        lambda e: (
            e["detail-type"] == "LipSync Job Rejected"
            and e["detail"]["reference"].get("key") == "jobs/broken.json"
        ),
        timeout=30,
    )
    assert_valid(EVENT_SCHEMAS["LipSync Job Rejected"], event["detail"])
    assert "not valid JSON" in event["detail"]["reason"]
    report = json.loads(
        s3.get_object(Bucket=inputs["bucket"], Key="rejections/jobs/broken.json")["Body"].read()
    )
    assert "not valid JSON" in report["reason"]


# Each code integrators report beyond the contract, where the service reports it, and the outcome
# docs/architecture.md (Errors) documents for it: the failed job's error name, or success after a retry.
REPORTED_CODE_OUTCOMES = [
    ("refuse", 50214, "VolcInvalidRequestError"),
    ("refuse", 50215, "VolcInvalidRequestError"),
    ("refuse", 50411, "VolcContentModerationError"),
    ("refuse", 50412, "VolcContentModerationError"),
    ("refuse", 50413, "VolcContentModerationError"),
    ("refuse", 50518, "VolcContentModerationError"),
    ("refuse", 50501, None),  # retryable: the state machine tries again, and the job succeeds
    ("task_failed", 50516, "VolcContentModerationError"),
    ("task_failed", 50520, "VolcTaskFailedError"),
    ("task_failed", 60102, "VolcTaskFailedError"),
]


@pytest.mark.parametrize(("fault", "code", "error_name"), REPORTED_CODE_OUTCOMES)
def test_a_reported_code_ends_the_job_as_documented(
    runtime: LocalRuntime, inputs: dict[str, Any], fault: str, code: int, error_name: str | None
) -> None:
    assert runtime.endpoints
    rule = {"fault": fault, "code": code, "count": 1}
    runtime.emulator.admin.add_faults({**rule, "action": "CVSubmitTask"} if fault == "refuse" else rule)
    before = runtime.emulator.admin.submissions()["total"]
    job_id = requests.post(f"{runtime.endpoints.api}/jobs", json=inputs["request"], timeout=30).json()[
        "job_id"
    ]
    event = terminal(runtime, job_id)
    paid = runtime.emulator.admin.submissions()["total"] - before
    assert runtime.emulator.admin.faults()[0]["fired"] == 1
    if error_name is None:
        assert (event["detail-type"], paid) == ("LipSync Job Succeeded", 1)
        return
    assert event["detail-type"] == "LipSync Job Failed"
    error = event["detail"]["error"]
    assert (error["name"], error["code"], error["retryable"]) == (error_name, code, False)
    assert paid == (1 if fault == "task_failed" else 0)
