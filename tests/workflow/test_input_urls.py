"""Input URLs presigned at each submission with the input reader role's session, and a resubmission
when the service reports it could not download an input (moto's interpreter, the emulator over HTTP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from lipsync_core.jobs.access.presigning import ROLE_CHAINING_MAX_SECONDS
from lipsync_core.volc import VolcClient
from tests.workflow.conftest import Pipeline

DOWNLOAD_FAILED = {"fault": "task_failed", "count": 1, "code": 50200, "message": "cannot download video url"}


def run_capturing_urls(pipeline: Pipeline, job_id: str, request: dict[str, Any]) -> tuple[Any, list[str]]:
    """Run a job; the video URLs submitted are recorded. moto in-process serves no HTTP, so the
    emulator is given the same video from the test's media server instead."""
    sent: list[str] = []
    original = VolcClient.submit_task

    def capture(self: VolcClient, mode: Any, video_url: str, audio_url: str, options: Any = None) -> Any:
        sent.append(video_url)
        return original(self, mode, pipeline.media.url("face.mp4"), audio_url, options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(VolcClient, "submit_task", capture)
        description = pipeline.run(job_id, request)
    return description, sent


def s3_request(pipeline: Pipeline) -> dict[str, Any]:
    key = "inputs/face.mp4"
    boto3.client("s3").put_object(
        Bucket=pipeline.bucket, Key=key, Body=(pipeline.media.root / "face.mp4").read_bytes()
    )
    return pipeline.request(video=f"s3://{pipeline.bucket}/{key}")


def test_inputs_are_signed_by_a_reader_session_for_no_longer_than_it_lives(pipeline: Pipeline) -> None:
    description, [url] = run_capturing_urls(pipeline, "job-signed", s3_request(pipeline))
    assert description["status"] == "SUCCEEDED"
    query = parse_qs(urlsplit(url).query)
    assert int(query["X-Amz-Expires"][0]) <= ROLE_CHAINING_MAX_SECONDS
    own_key = boto3.Session().get_credentials().access_key
    assert not query["X-Amz-Credential"][0].startswith(own_key), "signed by the reader role's session"
    assert "X-Amz-Security-Token" in query


def test_an_input_the_service_could_not_download_is_resubmitted_with_fresh_urls(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults(DOWNLOAD_FAILED)
    description, urls = run_capturing_urls(pipeline, "job-refetch", s3_request(pipeline))
    assert description["status"] == "SUCCEEDED"
    assert len(urls) == 2
    assert urls[0] != urls[1], "the second attempt was presigned afresh"
    record = pipeline.record("job-refetch")
    assert sorted(record.attempts) == ["1", "2"]


def test_a_url_of_the_callers_own_is_not_resubmitted(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults(DOWNLOAD_FAILED)
    description = pipeline.run("job-their-url")  # https inputs: fresh signatures cannot help
    assert description["status"] == "FAILED"
    assert pipeline.emulator.admin.submissions()["total"] == 1
    error = pipeline.record("job-their-url").error
    assert error is not None
    assert error["code"] == 50200
