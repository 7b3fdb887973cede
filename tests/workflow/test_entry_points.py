"""The start function (S3 manifests, EventBridge requests) and the HTTP API, against moto, with the
state machine running behind them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from lipsync.local.aws_events import api_gateway_proxy, eventbridge_delivery, s3_object_created
from lipsync.local.lambda_functions import LambdaContext
from lipsync.local.stack import load_handler
from tests.support.schemas import EVENT_SCHEMAS, assert_valid
from tests.workflow.conftest import Pipeline


def call(name: str, event: dict[str, Any]) -> Any:
    return load_handler(name)(event, LambdaContext(function_name=name))


def upload_manifest(pipeline: Pipeline, key: str, body: Any) -> dict[str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = boto3.client("s3").put_object(Bucket=pipeline.bucket, Key=key, Body=data)
    return s3_object_created(
        pipeline.bucket, key, size=len(data), etag=answer["ETag"], version_id=answer.get("VersionId")
    )


def executions(pipeline: Pipeline) -> list[dict[str, Any]]:
    assert pipeline.local.endpoints
    client = boto3.client("stepfunctions")
    return list(
        client.list_executions(stateMachineArn=pipeline.local.endpoints.state_machine_arn)["executions"]
    )


def bus_events(pipeline: Pipeline, detail_type: str) -> list[dict[str, Any]]:
    found = [e for e in pipeline.local.announced_events() if e["detail-type"] == detail_type]
    for event in found:
        assert_valid(EVENT_SCHEMAS[detail_type], event["detail"])
    return found


def api(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    answer = call("api", api_gateway_proxy(method, path, body=raw, headers=headers, query=query))
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize("key", ["jobs/simple.json", "jobs/my job+1 été/清单.json"])
def test_a_manifest_starts_one_job_whatever_its_key(pipeline: Pipeline, key: str) -> None:
    event = upload_manifest(pipeline, key, pipeline.request())
    [outcome] = call("start", event)["outcomes"]
    assert outcome["created"] is True
    assert outcome["job_id"].startswith("s3-")
    [execution] = executions(pipeline)
    assert execution["name"] == outcome["job_id"]
    assert pipeline.local.wait(execution["executionArn"])["status"] == "SUCCEEDED"
    record = pipeline.record(outcome["job_id"])
    assert (record.status, record.source) == ("SUCCEEDED", "s3")


def test_the_same_s3_event_delivered_three_times_starts_one_job(pipeline: Pipeline) -> None:
    event = upload_manifest(pipeline, "jobs/once.json", pipeline.request())
    outcomes = [call("start", event)["outcomes"][0] for _ in range(3)]
    assert len({o["job_id"] for o in outcomes}) == 1
    assert [o["created"] for o in outcomes] == [True, False, False]
    [execution] = executions(pipeline)
    assert pipeline.local.wait(execution["executionArn"])["status"] == "SUCCEEDED"
    assert call("start", event)["outcomes"][0]["created"] is False, "after the job ended, too"
    assert len(executions(pipeline)) == 1
    assert pipeline.emulator.admin.submissions()["total"] == 1


def test_a_new_version_of_a_manifest_is_a_new_job(pipeline: Pipeline) -> None:
    first = call("start", upload_manifest(pipeline, "jobs/again.json", pipeline.request()))["outcomes"][0]
    second = call("start", upload_manifest(pipeline, "jobs/again.json", pipeline.request()))["outcomes"][0]
    assert first["job_id"] != second["job_id"]


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("jobs/bad one.json", b"{not json", "not valid JSON"),
        ("jobs/bad batch.jsonl", b"\n \n", "the batch has no requests"),
        ("jobs/bom batch.jsonl", '\ufeff{"mode": "lite"}'.encode(), "byte order mark"),
    ],
)
def test_every_rejected_manifest_gets_its_report(
    pipeline: Pipeline, key: str, body: Any, reason: str
) -> None:
    """README: an invalid manifest gets a report at rejections/<key> and a Rejected event (a batch
    refused whole too)."""
    check_rejected(pipeline, key, body, reason)


def test_a_manifest_deleted_before_it_is_read_is_reported(pipeline: Pipeline) -> None:
    delivery = upload_manifest(pipeline, "jobs/gone.json", pipeline.request())
    version = delivery["Records"][0]["s3"]["object"]["versionId"]  # the bucket is versioned
    boto3.client("s3").delete_object(Bucket=pipeline.bucket, Key="jobs/gone.json", VersionId=version)
    [outcome] = call("start", delivery)["outcomes"]
    assert outcome["rejected_reason"] == "the manifest was deleted before it could be read"
    [event] = bus_events(pipeline, "LipSync Job Rejected")
    assert event["detail"]["reference"]["report_key"] == "rejections/jobs/gone.json"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        ({"mode": "lite", "video": "https://x.example/v.mp4"}, "audio"),
        (
            {
                "mode": "basic",
                "video": "https://x.example/v.mp4",
                "audio": "https://x.example/a.wav",
                "options": {"align_audio": True},
            },
            "only valid in lite mode",
        ),
    ],
)
def test_an_invalid_manifest_is_reported_and_announced(pipeline: Pipeline, body: Any, reason: str) -> None:
    check_rejected(pipeline, "jobs/bad one.json", body, reason)


def check_rejected(pipeline: Pipeline, key: str, body: Any, reason: str) -> None:
    [outcome] = call("start", upload_manifest(pipeline, key, body))["outcomes"]
    assert outcome["job_id"] is None
    assert reason in outcome["rejected_reason"]
    report = json.loads(
        boto3.client("s3").get_object(Bucket=pipeline.bucket, Key=f"rejections/{key}")["Body"].read()
    )
    assert reason in report["reason"]
    assert report["manifest"]["key"] == key
    [event] = bus_events(pipeline, "LipSync Job Rejected")
    assert event["detail"]["reference"]["report_key"] == f"rejections/{key}"
    assert executions(pipeline) == []


def test_a_request_event_starts_one_job_and_a_bad_one_is_rejected(pipeline: Pipeline) -> None:
    entry = {
        "Source": "my.app",
        "DetailType": "LipSync Job Requested",
        "Detail": json.dumps(pipeline.request()),
    }
    delivery = eventbridge_delivery(entry)
    first = call("start", delivery)["outcomes"][0]
    again = call("start", delivery)["outcomes"][0]
    assert first["job_id"] == f"eb-{delivery['id']}" == again["job_id"]
    assert (first["created"], again["created"]) == (True, False)
    bad = eventbridge_delivery({**entry, "Detail": json.dumps({"mode": "lite"})})
    assert call("start", bad)["outcomes"][0]["job_id"] is None
    [rejected] = bus_events(pipeline, "LipSync Job Rejected")
    assert rejected["detail"]["reference"] == {"event_id": bad["id"]}
    assert {e["field"] for e in rejected["detail"]["errors"]} == {"video", "audio"}
    [execution] = executions(pipeline)
    assert pipeline.local.wait(execution["executionArn"])["status"] == "SUCCEEDED"


def test_api_post_get_and_the_result_url(pipeline: Pipeline) -> None:
    status, created = api("POST", "/jobs", pipeline.request())
    assert status == 202
    job_id = created["job_id"]
    assert created["links"] == {"self": f"/jobs/{job_id}"}
    [execution] = executions(pipeline)
    pipeline.local.wait(execution["executionArn"])
    status, job = api("GET", f"/jobs/{job_id}")
    assert status == 200
    assert job["status"] == "SUCCEEDED"
    assert job["output"]["key"] == f"outputs/{job_id}.mp4"
    assert "X-Amz-Signature" in job["output"]["url"]
    assert job["request"]["mode"] == "lite"


def test_api_idempotency_keys(pipeline: Pipeline) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = api("POST", "/jobs", pipeline.request(), headers=headers)
    second = api("POST", "/jobs", pipeline.request(), headers=headers)
    assert (first[0], second[0]) == (202, 200)
    assert first[1]["job_id"] == second[1]["job_id"]
    status, body = api("POST", "/jobs", pipeline.request(mode="basic"), headers=headers)
    assert status == 409
    assert "different request" in body["message"]
    [execution] = executions(pipeline)
    pipeline.local.wait(execution["executionArn"])
    assert pipeline.emulator.admin.submissions()["total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ("{oops", 400, "not valid JSON"),
        ({"mode": "lite", "video": "https://x.example/v.mp4"}, 400, "invalid job request"),
        (
            {
                "mode": "lite",
                "video": "https://x.example/v.mp4",
                "audio": "https://x.example/a.wav",
                "options": {"open_scenedet": True},
            },
            400,
            "only valid in basic mode",
        ),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_api_rejects_bad_bodies_with_reasons(
    pipeline: Pipeline, body: Any, status: int, fragment: str
) -> None:
    answer_status, answer = api("POST", "/jobs", body)
    assert answer_status == status
    assert fragment in answer["message"]
    assert executions(pipeline) == []


def test_api_lists_jobs_with_filters_and_pages(pipeline: Pipeline) -> None:
    for index in range(3):
        api("POST", "/jobs", pipeline.request(), headers={"Idempotency-Key": f"list-{index}"})
    for execution in executions(pipeline):
        pipeline.local.wait(execution["executionArn"])
    status, page = api("GET", "/jobs", query={"status": "SUCCEEDED", "limit": "2"})
    assert status == 200
    assert len(page["jobs"]) == 2
    assert page["next_token"]
    status, rest = api(
        "GET", "/jobs", query={"status": "SUCCEEDED", "limit": "2", "next_token": page["next_token"]}
    )
    assert len(rest["jobs"]) == 1
    assert {j["job_id"] for j in page["jobs"] + rest["jobs"]} == {
        j["job_id"] for j in api("GET", "/jobs")[1]["jobs"]
    }
    assert api("GET", "/jobs", query={"status": "FAILED"})[1]["jobs"] == []
    assert api("GET", "/jobs", query={"status": "BOGUS"})[0] == 400
    assert api("GET", "/jobs", query={"limit": "1000"})[0] == 400
    assert api("GET", "/jobs", query={"next_token": "!!!"})[0] == 400


def test_api_cancels_a_running_job(pipeline: Pipeline) -> None:
    # A task that never finishes: the execution keeps polling until it is cancelled.
    pipeline.emulator.service.config = replace(
        pipeline.emulator.service.config, generating_base_seconds=10**9
    )
    status, created = api("POST", "/jobs", pipeline.request())
    job_id = created["job_id"]
    status, cancelled = api("DELETE", f"/jobs/{job_id}")
    assert status == 200
    assert cancelled["status"] == "CANCELLED"
    [execution] = executions(pipeline)
    # Stopped, or (when the cancel landed between two states) ended by the workflow finding the job
    # already cancelled: either way without a second terminal event.
    assert pipeline.local.wait(execution["executionArn"])["status"] in ("ABORTED", "FAILED")
    events = pipeline.local.announced_events()
    assert [e["detail-type"] for e in events] == ["LipSync Job Cancelled"]
    assert_valid(EVENT_SCHEMAS["LipSync Job Cancelled"], events[0]["detail"])
    assert events[0]["detail"]["job_id"] == job_id
    assert api("DELETE", f"/jobs/{job_id}")[0] == 409
    assert api("GET", f"/jobs/{job_id}")[1]["status"] == "CANCELLED"


def test_api_unknown_job_and_upload_urls(pipeline: Pipeline) -> None:
    assert api("GET", "/jobs/nope") == (404, {"message": "no such job"})
    status, uploads = api("POST", "/uploads", {"video_content_type": "video/quicktime"})
    assert status == 200
    assert uploads["video"]["s3_uri"].startswith(f"s3://{pipeline.bucket}/inputs/")
    assert uploads["video"]["headers"] == {"Content-Type": "video/quicktime"}
    assert uploads["audio"]["method"] == "PUT"
    assert "X-Amz-Signature" in uploads["audio"]["upload_url"]
    assert api("POST", "/uploads", {"video_content_type": "text/html"})[0] == 400


def test_api_refuses_an_output_it_could_not_write(pipeline: Pipeline) -> None:
    status, body = api("POST", "/jobs", pipeline.request(output={"key": "results/mine.mp4"}))
    assert status == 400
    assert body["errors"][0]["field"] == "output"
    assert "outputs/" in body["message"]
    assert api("POST", "/jobs", pipeline.request(output={"key": "outputs/mine.mp4"}))[0] == 202


@pytest.mark.parametrize("path", ["/jobs", "/batches"])
def test_a_bad_idempotency_key_is_refused_by_jobs_and_batches_alike(pipeline: Pipeline, path: str) -> None:
    body = json.dumps(pipeline.request())  # a job request, and a batch of one line
    for key in ("k" * 257, "a b", "\x7f", ""):
        status, answer = api("POST", path, body, headers={"Idempotency-Key": key})
        assert status == 400, key
        message = "must be 1 to 256 visible ASCII characters"
        assert answer["errors"] == [{"field": "Idempotency-Key", "message": message}]
    assert executions(pipeline) == []
    assert pipeline.objects() == [], "no batch manifest was put"


def test_a_batch_honours_its_idempotency_key_as_a_job_does(pipeline: Pipeline) -> None:
    line = json.dumps(pipeline.request())
    headers = {"Idempotency-Key": "order-42"}
    first = api("POST", "/batches", line, headers=headers)
    second = api("POST", "/batches", line, headers=headers)
    assert (first[0], second[0]) == (202, 200)
    batch_id = first[1]["batch_id"]
    assert second[1]["batch_id"] == batch_id
    status, conflict = api("POST", "/batches", f"{line}\n{line}", headers=headers)
    assert status == 409
    assert "different batch" in conflict["message"]
    status, other = api("POST", "/batches", line)  # no key: a batch of its own
    assert status == 202
    assert other["batch_id"] != batch_id
    assert pipeline.objects() == sorted(f"jobs/batches/{b}.jsonl" for b in (batch_id, other["batch_id"]))
