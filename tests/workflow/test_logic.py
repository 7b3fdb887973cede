"""Pure logic: the poll policy, job request validation, failure descriptions, the request schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.poll_policy import PollPolicy
from lipsync_core.jobs.domain.schemas import job_request_schema, render
from lipsync_core.jobs.steps.record_failure import describe_failure
from tests.support.schemas import SCHEMAS, assert_valid


def test_the_poll_interval_grows_geometrically_to_a_cap() -> None:
    policy = PollPolicy(first_seconds=10, growth=2, max_seconds=60)
    assert [policy.next_wait(n) for n in range(6)] == [10, 20, 40, 60, 60, 60]


def test_reported_progress_shortens_the_wait_towards_the_estimate() -> None:
    policy = PollPolicy(first_seconds=10, growth=2, max_seconds=120)
    # 90 % after 90 s: about 10 s remain, so wait about half of that, but never below the first wait.
    assert policy.next_wait(4, progress=90, elapsed_seconds=90) == 10
    # 25 % after 60 s: 180 s remain; the geometric wait (80 s) is shorter, so it wins.
    assert policy.next_wait(3, progress=25, elapsed_seconds=60) == 80
    assert policy.next_wait(3, progress=0, elapsed_seconds=60) == 80, "no progress: geometric"


def test_an_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="poll policy"):
        PollPolicy(first_seconds=30, max_seconds=10)


VALID = {
    "mode": "lite",
    "video": "s3://my-bucket/in/face.mp4",
    "audio": "https://cdn.example.com/voice.wav",
    "options": {"align_audio_reverse": True},
    "aigc_meta": {"producer_id": "p1"},
}


def test_a_valid_request_and_its_shorthands() -> None:
    request = JobRequest.model_validate(VALID)
    assert request.video.s3 is not None
    assert (request.video.s3.bucket, request.video.s3.key) == ("my-bucket", "in/face.mp4")
    assert request.audio.url == "https://cdn.example.com/voice.wav"
    assert_valid("job-request.schema.json", VALID)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "pro"}, "unknown mode 'pro'"),
        ({"options": {"open_scenedet": True}}, "only valid in basic mode"),
        ({"video": "http://cdn.example.com/v.mp4"}, "url must be https"),
        ({"video": "ftp://x/v.mp4"}, "scheme 'ftp'"),
        ({"video": {"s3": {"bucket": "b"}}}, "key"),
        ({"video": {"s3": {"bucket": "bb1", "key": "k"}, "url": "https://x/v.mp4"}}, "not both"),
        ({"aigc_meta": {"bogus": "x"}}, "unknown aigc_meta field"),
        ({"job_id": "has spaces"}, "job_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_requests_say_why(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobRequest.model_validate({**VALID, **change})


def test_http_inputs_only_where_the_policy_allows() -> None:
    request = JobRequest.model_validate(
        {**VALID, "video": "http://127.0.0.1:9/v.mp4"}, context={"allow_http": True}
    )
    assert request.video.url == "http://127.0.0.1:9/v.mp4"


def test_the_committed_request_schema_is_current() -> None:
    committed = (SCHEMAS / "job-request.schema.json").read_text()
    assert committed == render(job_request_schema()), "run: python -m tools.docs"


def test_lambda_errors_are_described_with_service_details() -> None:
    cause = json.dumps(
        {
            "errorType": "VolcTaskFailedError",
            "errorMessage": "CVGetResult: Post Text Risk Not Pass "
            "(code=50413, http_status=200, request_id=r1)",
        }
    )
    assert describe_failure("VolcTaskFailedError", cause) == {
        "name": "VolcTaskFailedError",
        "message": "CVGetResult: Post Text Risk Not Pass",
        "code": 50413,
        "http_status": 200,
        "request_id": "r1",
        "retryable": False,
    }
    gateway = json.dumps(
        {
            "errorType": "VolcAuthError",
            "errorMessage": "CVSubmitTask: bad (code=SignatureDoesNotMatch, http_status=401, request_id=r3)",
        }
    )
    assert describe_failure("VolcAuthError", gateway)["code"] == "SignatureDoesNotMatch"


def test_non_lambda_errors_are_described_too() -> None:
    assert describe_failure("States.Timeout", None) == {
        "name": "States.Timeout",
        "message": "States.Timeout",
        "retryable": False,
    }
    assert describe_failure("TaskLostError", "the service answered expired")["message"] == (
        "the service answered expired"
    )
    long = describe_failure("X", "y" * 5000)
    assert len(long["message"]) == 1000
