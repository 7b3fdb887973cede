"""What the workflow could not do on AWS is refused where it is cheap: S3 inputs the input reader role
cannot sign (another bucket; another job's result under the output prefix) are rejected at intake,
naming the field; and the provider's done answer travels in the execution's state only while it is
small (Step Functions fails a state over 256 KiB with ``States.DataLimitExceeded``, which no Catch
handles)."""

from __future__ import annotations

import json

import pytest

from lipsync_core.jobs.domain.documents import MAX_CARRIED_RESULT_BYTES
from lipsync_core.jobs.domain.errors import RequestRejectedError
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.requests import check_inputs, parse_request
from lipsync_core.jobs.steps.poll import carried

SETTINGS = Settings.from_env({"JOB_TABLE_NAME": "jobs", "BUCKET_NAME": "media-bucket"})


@pytest.mark.parametrize(
    ("field", "location", "reason"),
    [
        ("video", "s3://someone-elses/face.mp4", "video must be in the stack's bucket s3://media-bucket/"),
        ("audio", "s3://media-bucket/outputs/other-job.mp4", "audio cannot be under outputs/"),
    ],
)
def test_inputs_the_input_reader_cannot_sign_are_refused_at_intake(
    field: str, location: str, reason: str
) -> None:
    # Given a request whose input is outside what Submit's input reader role may read
    raw = {"mode": "lite", "video": "s3://media-bucket/inputs/face.mp4", "audio": "s3://media-bucket/a.wav"}
    request = parse_request({**raw, field: location}, SETTINGS)
    # When intake checks it, Then it is rejected on that field, before anything is recorded or paid
    with pytest.raises(RequestRejectedError, match=reason) as refused:
        check_inputs(request, SETTINGS)
    assert refused.value.errors[0]["field"] == field
    check_inputs(parse_request(raw, SETTINGS), SETTINGS)  # the stack's own inputs pass
    check_inputs(parse_request({**raw, field: "https://media.example/x"}, SETTINGS), SETTINGS)


def test_the_done_answer_travels_in_the_state_only_while_it_is_small() -> None:
    answer = {"status": "done", "video_url": "https://cdn.example/r.mp4", "resp_data": ""}
    assert carried(answer) == answer
    # An unbounded resp_data (the contract gives no size) is left behind: CopyResult asks again.
    answer["resp_data"] = json.dumps({"frames": ["x" * 100] * 300})
    assert len(json.dumps(answer)) > MAX_CARRIED_RESULT_BYTES
    assert carried(answer) is None
    assert MAX_CARRIED_RESULT_BYTES * 4 < 256 * 1024, "room for the rest of the state"
