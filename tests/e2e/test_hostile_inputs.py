"""Hostile input at the three entry points of the local runtime (the HTTP API, S3 manifests and
EventBridge request events), by class: oversize values, numbers DynamoDB cannot store, invalid Unicode,
deep nesting, wrongly typed options, output keys that escape their place, job ids in the pipeline's
namespaces, and documents that are not objects; plus the HTTP framing mistakes API Gateway answers.

Each input must get a 4xx JSON answer, or a report under ``rejections/`` plus a Rejected event; no job
record and no paid task (the emulator's inspection endpoint) may result; and the processes must still
serve valid jobs afterwards."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipsync.local.runtime import LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.entry.requests import derive_job_id
from tests.support.schemas import EVENT_SCHEMAS, assert_valid

pytestmark = [pytest.mark.xdist_group("hostile"), pytest.mark.slow]
REJECTED = "LipSync Job Rejected"
Corpus = dict[str, Callable[[dict[str, Any]], str]]


def _with(base: dict[str, Any], **fields: Any) -> str:
    return json.dumps({**base, **fields})


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each entry builds the JSON text of a request from a valid one. Lone surrogates are JSON escapes
# (valid ASCII text that decodes to invalid Unicode); numbers are written as JSON writes them.
REQUESTS: Corpus = {
    "aigc_meta value of 20 KB": lambda b: _with(b, aigc_meta={"producer_id": "p" * 20_000}),
    "aigc_meta with 40 fields": lambda b: _with(b, aigc_meta={f"f{i}": "v" for i in range(40)}),
    "request of 40 KB": lambda b: _with(b, video="https://media.example/" + "v" * 40_000 + ".mp4"),
    "option 1e200": lambda b: _with(b).replace('"mode"', '"options": {"templ_start_seconds": 1e200}, "mode"'),
    "option 1.7e308": lambda b: _with(b, options={"templ_start_seconds": 1.7e308}),
    "option 1e-200": lambda b: _with(b, options={"templ_start_seconds": 1e-200}),
    "option with 45 digits": lambda b: _with(b, options={"templ_start_seconds": 10**44 + 1}),
    "lone surrogate in aigc_meta": lambda b: _with(b)[:-1] + ', "aigc_meta": {"producer_id": "a\\udc80"}}',
    "lone surrogate in an option name": lambda b: _with(b)[:-1] + ', "options": {"\\ud83d": true}}',
    "lone surrogate in a URL": lambda b: _with(b)[:-1] + ', "video": "https://media.example/\\ud800.mp4"}',
    "options nested 40 deep": lambda b: _with(b)[:-1] + f', "options": {{"separate_vocal": {_nested(40)}}}}}',
    "option true as a string": lambda b: _with(b, options={"separate_vocal": "true"}),
    "option number as a string": lambda b: _with(b, options={"templ_start_seconds": "2.5"}),
    "output key with ..": lambda b: _with(b, output={"key": "outputs/../jobs/evil.mp4"}),
    "output key with an empty segment": lambda b: _with(b, output={"key": "outputs//evil.mp4"}),
    "output key with .": lambda b: _with(b, output={"key": "outputs/./evil.mp4"}),
    "output key with a control character": lambda b: _with(b, output={"key": "outputs/a\u0007b.mp4"}),
    "job id of an API key": lambda b: _with(b, job_id=derive_job_id("api", "someone-elses-key")),
    "job id of an S3 delivery": lambda b: _with(b, job_id="s3-" + "0" * 32),
    "job id of an EventBridge event": lambda b: _with(b, job_id="EB-" + str(uuid.uuid4())),
    "a list": lambda b: json.dumps([b]),
    "a string": lambda b: json.dumps("lite"),
    "null": lambda b: "null",
}
# Only where the text itself reaches our parser (EventBridge parses details before delivering them).
DOCUMENTS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "nested 20000 deep": lambda b: _nested(20_000).encode(),
    "invalid UTF-8": lambda b: _with(b).encode()[:-1] + b', "x": "\xff\xfe"}',
    "not JSON": lambda b: b"{'mode': 'lite'}",
    "NaN": lambda b: _with(b).replace('"mode"', '"options": {"templ_start_seconds": NaN}, "mode"').encode(),
}


@pytest.fixture(scope="module")
def valid(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("hostile-media")
    assert runtime.endpoints
    bucket = runtime.endpoints.bucket
    s3 = runtime.client("s3")
    s3.upload_file(
        str(make_talking_head(folder / "face.mp4", seconds=1.0, width=96, height=96)), bucket, "in/f.mp4"
    )
    s3.upload_file(str(make_voice(folder / "voice.wav", seconds=1.0)), bucket, "in/v.wav")
    return {"mode": "lite", "video": f"s3://{bucket}/in/f.mp4", "audio": f"s3://{bucket}/in/v.wav"}


def job_count(runtime: LocalRuntime) -> int:
    assert runtime.endpoints
    table = runtime.endpoints.table
    return int(runtime.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])


@pytest.fixture
def nothing_created(runtime: LocalRuntime) -> Iterator[None]:
    """No job record, no paid task, and no failed delivery (intake never crashes) by the test."""
    assert runtime.dispatcher
    jobs, paid = job_count(runtime), runtime.emulator.admin.submissions()["total"]
    deliveries = len(runtime.dispatcher.delivered)
    yield
    assert job_count(runtime) == jobs
    assert runtime.emulator.admin.submissions()["total"] == paid
    assert all(ok for _, ok in runtime.dispatcher.delivered[deliveries:])


def assert_json_4xx(answer: requests.Response, status: int | None = None) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    if status is not None:
        assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def rejected(runtime: LocalRuntime, **reference: str) -> dict[str, Any]:
    event = runtime.wait_for_event(
        lambda e: (
            e["detail-type"] == REJECTED
            and all(e["detail"]["reference"].get(k) == v for k, v in reference.items())
        ),
        timeout=30,
    )
    assert_valid(EVENT_SCHEMAS[REJECTED], event["detail"])
    assert event["detail"]["reason"]
    return dict(event["detail"])


def send_manifests(runtime: LocalRuntime, bodies: dict[str, bytes]) -> dict[str, str]:
    """Upload each body as a manifest; returns name -> key."""
    assert runtime.endpoints
    keys = {name: f"jobs/hostile/{hashlib.sha256(name.encode()).hexdigest()[:12]}.json" for name in bodies}
    for name, body in bodies.items():
        runtime.client("s3").put_object(Bucket=runtime.endpoints.bucket, Key=keys[name], Body=body)
    return keys


def assert_reported(runtime: LocalRuntime, keys: dict[str, str]) -> None:
    assert runtime.endpoints
    for name, key in keys.items():
        detail = rejected(runtime, key=key)
        report_key = f"rejections/{key}"
        assert detail["reference"]["report_key"] == report_key, name
        report = runtime.client("s3").get_object(Bucket=runtime.endpoints.bucket, Key=report_key)
        assert json.loads(report["Body"].read())["reason"] == detail["reason"], name


def deliver_event(runtime: LocalRuntime, detail: Any) -> str:
    """A request event as the rule delivers it to the start function (moto's PutEvents, as AWS's,
    does not forward a detail that is not an object, so those are delivered to the rule's queue)."""
    assert runtime.dispatcher
    event_id = str(uuid.uuid4())
    [route] = [r for r in runtime.dispatcher.routes if "rule" in r.queue_url and "start" in r.function]
    envelope = {
        "id": event_id,
        "detail-type": "LipSync Job Requested",
        "source": "hostile.tests",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    runtime.client("sqs").send_message(QueueUrl=route.queue_url, MessageBody=json.dumps(envelope))
    return event_id


def put_event(runtime: LocalRuntime, detail_text: str) -> str:
    assert runtime.endpoints
    answer = runtime.client("events").put_events(
        Entries=[
            {
                "EventBusName": runtime.endpoints.bus,
                "Source": "lipsync.client",  # an allowed source (cdk.json): others never reach intake
                "DetailType": "LipSync Job Requested",
                "Detail": detail_text,
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0
    return str(answer["Entries"][0]["EventId"])


# -- the job request, by class, at each entry point -------------------------------------------------


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_api_answers_a_hostile_request_with_a_4xx_naming_the_field(
    runtime: LocalRuntime, valid: dict[str, Any], name: str
) -> None:
    assert runtime.endpoints
    text = REQUESTS[name](valid)
    answer = requests.post(
        f"{runtime.endpoints.api}/jobs",
        data=text.encode(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    body = assert_json_4xx(answer)
    assert body["errors"], name
    assert all(error["field"] for error in body["errors"])


@pytest.mark.usefixtures("nothing_created")
def test_api_answers_hostile_documents_and_headers_with_json_4xx(
    runtime: LocalRuntime, valid: dict[str, Any]
) -> None:
    assert runtime.endpoints
    jobs = f"{runtime.endpoints.api}/jobs"
    for name, build in DOCUMENTS.items():
        body = assert_json_4xx(requests.post(jobs, data=build(valid), timeout=30), 400)
        # Invalid UTF-8 is refused by the server in front, as API Gateway's own answers: message only.
        assert body.get("errors", [{"field": "(body)"}])[0]["field"] == "(body)", name
        assert "body" in body["message"], name
    assert_json_4xx(requests.post(jobs, data=b" " * (70 * 1024), timeout=30), 413)
    uploads = f"{runtime.endpoints.api}/uploads"
    for data in (_nested(20_000).encode(), b'{"video_content_type": 5}', b"\xff", b'{"a": NaN}'):
        assert_json_4xx(requests.post(uploads, data=data, timeout=30), 400)
    assert_json_4xx(requests.post(jobs, data=b"", timeout=30), 400)
    for key in ("k" * 257, "a b", "\x7f"):
        body = assert_json_4xx(requests.post(jobs, json=valid, headers={"Idempotency-Key": key}, timeout=30))
        assert body["errors"][0]["field"] == "Idempotency-Key"


def test_async_entry_points_report_and_announce_every_hostile_request(
    runtime: LocalRuntime, valid: dict[str, Any], nothing_created: None
) -> None:
    texts = {name: build(valid) for name, build in REQUESTS.items()}
    keys = send_manifests(runtime, {name: text.encode() for name, text in texts.items()})
    keys.update(send_manifests(runtime, {name: build(valid) for name, build in DOCUMENTS.items()}))
    keys.update(send_manifests(runtime, {"manifest of 70 KB": _with(valid, x="y" * 70_000).encode()}))
    event_ids = {}
    for name, text in texts.items():
        if text.lstrip().startswith("{"):  # other details are not forwarded by EventBridge
            event_ids[name] = put_event(runtime, text)
    not_objects: list[Any] = [[valid], "lite", 42, None, True]
    for value in not_objects:
        event_ids[f"detail {value!r}"] = deliver_event(runtime, value)
    assert_reported(runtime, keys)
    for name, event_id in event_ids.items():
        announced = rejected(runtime, event_id=event_id)
        assert announced["source"] == "eventbridge", name
        assert announced["errors"], name


# -- the rest of the API's surface -------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        "e30",  # {} without padding
        base64.urlsafe_b64encode(b"[]").decode(),
        base64.urlsafe_b64encode(b'{"job_id": 5}').decode(),
        base64.urlsafe_b64encode(b'{"job_id": "x", "evil": "y"}').decode(),
        base64.urlsafe_b64encode(b'{"job_id": "x", "status": "FAILED", "created_at": "t"}').decode(),
        base64.urlsafe_b64encode(_nested(600).encode()).decode(),
        base64.urlsafe_b64encode(b'{"job_id": "\\ud800"}').decode(),
    ],
)
def test_a_malformed_page_token_is_a_400(runtime: LocalRuntime, token: str) -> None:
    assert runtime.endpoints
    answer = requests.get(f"{runtime.endpoints.api}/jobs", params={"next_token": token}, timeout=30)
    assert "next_token" in assert_json_4xx(answer, 400)["message"]


@pytest.mark.usefixtures("nothing_created")
def test_unsupported_methods_and_unknown_paths_get_json(runtime: LocalRuntime) -> None:
    assert runtime.endpoints
    api = runtime.endpoints.api
    for method, path, allow in [
        ("PUT", "/jobs", "GET, POST"),
        ("PATCH", "/jobs/some-job", "DELETE, GET"),
        ("POST", "/jobs/some-job", "DELETE, GET"),
        ("DELETE", "/uploads", "POST"),
    ]:
        answer = requests.request(method, api + path, timeout=30)
        assert_json_4xx(answer, 405)
        assert answer.headers["Allow"] == allow
    head = requests.head(f"{api}/jobs", timeout=30)
    assert (head.status_code, head.headers["Allow"]) == (405, "GET, POST")
    assert_json_4xx(requests.get(f"{api}/nothing/here", timeout=30), 404)
    assert_json_4xx(requests.get(f"{api}/jobs/{'x' * 3000}", timeout=30), 404)
    assert_json_4xx(requests.delete(f"{api}/jobs/..%2F..%2Fetc", timeout=30), 404)
    assert_json_4xx(requests.get(f"{api}/jobs", params={"limit": "many"}, timeout=30), 400)
    assert_json_4xx(requests.get(f"{api}/jobs", params={"status": "BOGUS"}, timeout=30), 400)


def raw_http(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize("length", ["-1", "abc", "1e3", ""])
def test_a_bad_content_length_is_a_json_400(runtime: LocalRuntime, length: str) -> None:
    assert runtime.endpoints
    request = f"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{{}}"
    status, headers, body = raw_http(runtime.endpoints.api, request.encode())
    assert (status, headers["content-type"]) == (400, "application/json")
    assert "Content-Length" in json.loads(body)["message"]


@pytest.mark.usefixtures("nothing_created")
def test_a_body_over_api_gateways_limit_is_a_json_413(runtime: LocalRuntime) -> None:
    assert runtime.endpoints
    answer = requests.post(f"{runtime.endpoints.api}/jobs", data=b"x" * (10 * 1024 * 1024 + 1), timeout=60)
    assert_json_4xx(answer, 413)


@pytest.mark.usefixtures("nothing_created")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children),
        max_leaves=12,
    )
)
def test_any_json_body_is_a_json_4xx(runtime: LocalRuntime, body: Any) -> None:
    assert runtime.endpoints
    answer = requests.post(f"{runtime.endpoints.api}/jobs", data=json.dumps(body).encode(), timeout=30)
    assert_json_4xx(answer, 400)


# -- outputs belong to their job, and valid jobs still run --------------------------------------------


def test_valid_jobs_still_run_and_an_output_is_never_overwritten(
    runtime: LocalRuntime, valid: dict[str, Any]
) -> None:
    assert runtime.endpoints
    api = runtime.endpoints.api
    owner = requests.post(f"{api}/jobs", json={**valid, "job_id": "hostile-owner"}, timeout=30)
    assert owner.status_code == 202
    manifest_key = send_manifests(runtime, {"valid": json.dumps(valid).encode()})["valid"]
    event_id = put_event(runtime, json.dumps(valid))
    assert runtime.wait_for_terminal_event("hostile-owner")["detail-type"] == "LipSync Job Succeeded"
    record = requests.get(f"{api}/jobs/hostile-owner", timeout=30).json()

    # Another job asks for the owner's key: it is refused before paying, the owner's result stays.
    paid = runtime.emulator.admin.submissions()["total"]
    thief = {**valid, "job_id": "hostile-thief", "output": {"key": record["output"]["key"]}}
    assert requests.post(f"{api}/jobs", json=thief, timeout=30).status_code == 202
    event = runtime.wait_for_terminal_event("hostile-thief")
    assert runtime.emulator.admin.submissions()["total"] == paid
    assert event["detail-type"] == "LipSync Job Failed"
    assert event["detail"]["error"]["name"] == "OutputTakenError"
    stored = runtime.client("s3").get_object(Bucket=runtime.endpoints.bucket, Key=record["output"]["key"])
    assert stored["Metadata"]["job-id"] == "hostile-owner"
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == record["output"]["sha256"]

    etag = runtime.client("s3").head_object(Bucket=runtime.endpoints.bucket, Key=manifest_key)["ETag"]
    for job_id in (
        derive_job_id("s3", runtime.endpoints.bucket, manifest_key, etag.strip('"')),
        f"eb-{event_id}",
    ):
        assert runtime.wait_for_terminal_event(job_id)["detail-type"] == "LipSync Job Succeeded"


def test_a_service_error_is_sanitised_in_the_record_and_the_event(
    runtime: LocalRuntime, valid: dict[str, Any]
) -> None:
    assert runtime.endpoints
    leaky = (
        "cannot decode '/tmp/lipsync-emulator-q1/7f/video.mp4' fetched from "
        "https://media.s3.amazonaws.com/in/f.mp4?X-Amz-Signature=deadbeef\nTraceback (most recent call last):"
    )
    runtime.emulator.admin.add_faults({"fault": "task_failed", "code": 50207, "message": leaky, "count": 1})
    try:
        job_id = requests.post(f"{runtime.endpoints.api}/jobs", json=valid, timeout=30).json()["job_id"]
        event = runtime.wait_for_terminal_event(job_id)
    finally:
        runtime.emulator.admin.clear_faults()
    record = requests.get(f"{runtime.endpoints.api}/jobs/{job_id}", timeout=30).json()
    for error in (event["detail"]["error"], record["error"]):
        assert error["code"] == 50207
        assert "cannot decode '<path>' fetched from https://media.s3.amazonaws.com/" in error["message"]
        for secret in ("/tmp", "lipsync-emulator", "deadbeef", "X-Amz", "\n", "Traceback (most recent"):
            assert secret not in error["message"]
