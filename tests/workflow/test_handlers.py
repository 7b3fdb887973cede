"""Each handler on its own, against moto and the emulator over HTTP."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from lipsync.local.lambda_functions import LambdaContext
from lipsync.local.stack import load_handler
from lipsync_core.jobs import clients
from lipsync_core.jobs.access.presigning import EXPIRY_MARGIN_SECONDS, ROLE_CHAINING_MAX_SECONDS
from lipsync_core.jobs.access.result_urls import UrlPolicy, check_url
from lipsync_core.jobs.domain.errors import ResultDownloadError, ResultUrlRejectedError
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.volc import VolcClient
from lipsync_core.volc.models import TaskResult
from tests.workflow.conftest import Pipeline


def invoke(name: str, event: dict[str, Any]) -> Any:
    return load_handler(name)(event, LambdaContext(function_name=name))


def submit(job_id: str, request: dict[str, Any]) -> Any:
    """Submit a job recorded as the line's first step records one started directly (its request
    validated under the local URL policy), as if it had just been admitted."""
    clients.job_store().create(job_id, JobRequest.under_policy(request, allow_http=True))
    return invoke("submit", {"job_id": job_id})


def finish_task(pipeline: Pipeline, task_id: str) -> None:
    pipeline.emulator.admin.advance_clock(10_000)
    assert pipeline.emulator.service.wait_rendered(60)


def test_submit_presigns_s3_inputs_and_is_idempotent(pipeline: Pipeline) -> None:
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=pipeline.bucket,
        Key="inputs/face one.mp4",
        Body=(pipeline.media.root / "face.mp4").read_bytes(),
    )
    request = {
        "mode": "lite",
        "video": f"s3://{pipeline.bucket}/inputs/face one.mp4",
        "audio": pipeline.media.url("voice.wav"),
    }
    # moto in-process has no HTTP endpoint for the emulator to fetch from: capture the URL instead.
    sent: list[str] = []
    original = VolcClient.submit_task

    def capture(self: VolcClient, mode: Any, video_url: str, audio_url: str, options: Any = None) -> Any:
        sent.append(video_url)
        return original(self, mode, pipeline.media.url("face.mp4"), audio_url, options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VolcClient, "submit_task", capture)
        first = submit("job-s3", request)
        second = invoke("submit", {"job_id": "job-s3"})
    assert first == second
    assert first["attempt"] == 1
    assert len(sent) == 1, "the second invocation found the recorded task and paid nothing"
    assert pipeline.emulator.admin.submissions()["total"] == 1
    url = urlsplit(sent[0])
    assert url.path.endswith("/inputs/face%20one.mp4")
    query = parse_qs(url.query)
    assert "X-Amz-Signature" in query
    # Cut to the input reader session's hour (role chaining), less the margin.
    assert 0 < int(query["X-Amz-Expires"][0]) <= ROLE_CHAINING_MAX_SECONDS - EXPIRY_MARGIN_SECONDS


def test_a_missing_s3_input_fails_before_paying(pipeline: Pipeline) -> None:
    request = {
        "mode": "lite",
        "video": f"s3://{pipeline.bucket}/inputs/none.mp4",
        "audio": pipeline.media.url("voice.wav"),
    }
    with pytest.raises(Exception, match="cannot be read") as caught:
        submit("job-missing", request)
    assert type(caught.value).__name__ == "InputNotFoundError"
    assert pipeline.emulator.admin.submissions()["total"] == 0
    assert clients.job_store().get("job-missing").claims == {}, "the claim was released: a retry may pay"


def test_poll_records_status_progress_and_the_next_wait(pipeline: Pipeline) -> None:
    cursor = submit("job-poll", pipeline.request())
    pipeline.emulator.admin.advance_clock(40)  # into generating
    polled = invoke("poll", {"job_id": "job-poll", "cursor": cursor})
    assert polled["status"] == "generating"
    assert polled["polls"] == 1
    assert 0 < polled["progress"] < 100
    assert polled["wait_seconds"] >= 15
    record = clients.job_store().get("job-poll")
    assert (record.status, record.service_status, record.polls) == ("RUNNING", "generating", 1)


def test_copy_result_refreshes_an_expired_url(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = submit("job-refresh", pipeline.request())
    finish_task(pipeline, cursor["task_id"])
    cursor = {**cursor, "status": "done"}
    original = VolcClient.get_result
    calls: list[str] = []

    def first_url_expired(self: VolcClient, *args: Any, **kwargs: Any) -> TaskResult:
        result = original(self, *args, **kwargs)
        calls.append(result.video_url or "")
        if len(calls) == 1 and result.video_url:  # as if the hour had passed: the CDN answers 403
            return TaskResult(**{**result.__dict__, "video_url": result.video_url.replace("sig=", "sig=0")})
        return result

    monkeypatch.setattr(VolcClient, "get_result", first_url_expired)
    detail = invoke("copy_result", {"job_id": "job-refresh", "cursor": cursor})
    assert len(calls) == 2
    assert detail["output"]["key"] == "outputs/job-refresh.mp4"
    assert pipeline.objects() == ["outputs/job-refresh.job.json", "outputs/job-refresh.mp4"]


def test_an_interrupted_download_leaves_nothing_behind(pipeline: Pipeline) -> None:
    cursor = submit("job-cut", pipeline.request())
    finish_task(pipeline, cursor["task_id"])
    pipeline.emulator.admin.add_faults({"fault": "truncate", "count": 1})
    with pytest.raises(ResultDownloadError, match=r"broke off|cut short"):
        invoke("copy_result", {"job_id": "job-cut", "cursor": {**cursor, "status": "done"}})
    assert pipeline.objects() == []
    assert pipeline.multipart_uploads() == []
    assert clients.job_store().get("job-cut").status == "SUBMITTED", "not marked succeeded"


def test_record_failure_marks_the_job_once(pipeline: Pipeline) -> None:
    submit("job-fail", pipeline.request())
    event = {"job_id": "job-fail", "error": {"Error": "States.Timeout", "Cause": "too slow"}}
    detail = invoke("record_failure", event)
    assert detail["error"] == {"name": "States.Timeout", "message": "too slow", "retryable": False}
    again = invoke("record_failure", {**event, "error": {"Error": "Other", "Cause": "later"}})
    assert again["status"] == "FAILED"
    assert "version" not in again, "not an event detail: nothing more is announced"
    record = clients.job_store().get("job-fail")
    assert record.error is not None
    assert record.error["name"] == "States.Timeout", "a terminal status is never overwritten"
    assert [h.status for h in record.history].count("FAILED") == 1


@pytest.mark.parametrize(
    ("url", "policy", "message"),
    [
        ("http://cdn.example.com/r.mp4", UrlPolicy(), "scheme 'http'"),
        ("https://127.0.0.1/r.mp4", UrlPolicy(), "non-public"),
        ("https://10.1.2.3/r.mp4", UrlPolicy(), "non-public"),
        ("https://169.254.169.254/latest/meta-data", UrlPolicy(), "non-public"),
        ("https://[::1]/r.mp4", UrlPolicy(), "non-public"),
        ("https://localhost/r.mp4", UrlPolicy(), "non-public"),
        (
            "https://93.184.216.34/r.mp4",
            UrlPolicy(allowed_hosts=("volcengineapi.com",)),
            "not in the allowed",
        ),
        ("file:///etc/passwd", UrlPolicy(allow_local=True), "scheme 'file'"),
    ],
)
def test_result_urls_that_could_reach_inside_are_refused(url: str, policy: UrlPolicy, message: str) -> None:
    with pytest.raises(ResultUrlRejectedError, match=message):
        check_url(url, policy)


def test_public_and_allowed_hosts_pass_and_the_address_is_pinned() -> None:
    scheme, host, port, address = check_url("https://93.184.216.34:8443/r.mp4", UrlPolicy())
    assert (scheme, host, port, address) == ("https", "93.184.216.34", 8443, "93.184.216.34")
    assert check_url("http://127.0.0.1:9/r.mp4", UrlPolicy(allow_local=True))[3] == "127.0.0.1"
    with pytest.raises(ResultUrlRejectedError):
        check_url("https://evil.com.attacker.net/x", UrlPolicy(allowed_hosts=("evil.com",)))


def test_a_host_that_does_not_resolve_is_a_retryable_download_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ResultDownloadError, match="cannot resolve"):
        check_url("https://cdn.volcengineapi.com/r.mp4", UrlPolicy())


def test_a_job_cancelled_while_its_task_is_submitted_stays_cancelled(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cancel lands between the claim and the record of the paid task (the race the API can hit).
    original = VolcClient.submit_task

    def submit_then_cancel(self: VolcClient, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        assert clients.job_store().finish("job-race", "CANCELLED")
        return result

    monkeypatch.setattr(VolcClient, "submit_task", submit_then_cancel)
    with pytest.raises(Exception, match="cancelled while its task was submitted") as caught:
        submit("job-race", pipeline.request())
    assert type(caught.value).__name__ == "JobAlreadyFinishedError"
    record = clients.job_store().get("job-race")
    assert record.status == "CANCELLED"
    assert record.attempts["1"].task_id == record.task_id, "the paid task is still on record"
    task = pipeline.emulator.admin.task(record.task_id)
    assert task["status"] == "not_found", "the service was asked to drop it"


@pytest.mark.parametrize(
    "output", [{"key": "elsewhere/x.mp4"}, {"bucket": "someone-elses", "key": "outputs/x.mp4"}]
)
def test_an_output_outside_the_stacks_prefix_is_refused_before_paying(
    pipeline: Pipeline, output: dict[str, str]
) -> None:
    with pytest.raises(Exception, match="output must be in") as caught:
        submit("job-out", pipeline.request(output=output))
    assert type(caught.value).__name__ == "OutputNotAllowedError"
    assert pipeline.emulator.admin.submissions()["total"] == 0
