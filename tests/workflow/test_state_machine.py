"""The synthesized definition itself, executed by moto's Step Functions interpreter with our
handlers in-process and the emulator over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from tests.support.media import streams_and_durations
from tests.support.schemas import EVENT_SCHEMAS, assert_valid
from tests.workflow.conftest import Pipeline


def lambda_outcomes(pipeline: Pipeline, description: dict[str, Any]) -> Counter[str]:
    """How each Lambda step ended, by error name ('ok' for success)."""
    outcomes: Counter[str] = Counter()
    for event in pipeline.function_history(description):
        if event["type"] == "LambdaFunctionSucceeded":
            outcomes["ok"] += 1
        elif event["type"] == "LambdaFunctionFailed":
            outcomes[event["lambdaFunctionFailedEventDetails"]["error"]] += 1
    return outcomes


def states_entered(pipeline: Pipeline, description: dict[str, Any]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in pipeline.function_history(description)
        if "stateEnteredEventDetails" in e
    ]


def the_one_event(pipeline: Pipeline, job_id: str) -> dict[str, Any]:
    events = [e for e in pipeline.local.announced_events() if e["detail"]["job_id"] == job_id]
    assert len(events) == 1, events
    event = events[0]
    assert event["source"] == "lipsync.pipeline"
    assert_valid(EVENT_SCHEMAS[event["detail-type"]], event["detail"])
    return event


def test_a_job_succeeds_after_several_polls(pipeline: Pipeline, tmp_path: Any) -> None:
    description = pipeline.run("job-ok")
    assert description["status"] == "SUCCEEDED"
    assert states_entered(pipeline, description).count("Poll") >= 3
    event = the_one_event(pipeline, "job-ok")
    assert event["detail-type"] == "LipSync Job Succeeded"
    output = event["detail"]["output"]
    assert output["key"] == "outputs/job-ok.mp4"

    assert pipeline.objects() == ["outputs/job-ok.job.json", "outputs/job-ok.mp4"]
    local_copy = tmp_path / "result.mp4"
    boto3.client("s3").download_file(pipeline.bucket, output["key"], str(local_copy))
    info = streams_and_durations(local_copy)
    assert abs(info["audio"] - 2.0) <= 1 / info["fps"]
    assert abs(info["video"] - 2.0) <= 1 / info["fps"]
    assert local_copy.stat().st_size == output["size_bytes"]

    record = pipeline.record("job-ok")
    assert [h.status for h in record.history] == ["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED"]
    assert record.output is not None
    assert record.output.sha256 == output["sha256"]
    assert record.polls >= 3
    assert pipeline.emulator.admin.submissions()["total"] == 1


def test_throttling_is_retried_to_success_without_paying_twice(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults(
        {"fault": "throttle", "action": "CVSubmitTask", "count": 2},
        {"fault": "throttle", "action": "CVGetResult", "count": 2},
    )
    description = pipeline.run("job-throttled")
    assert description["status"] == "SUCCEEDED"
    # A throttled submission (others using the account) is retried by Submit's Retry, with backoff:
    # the same attempt, paid once; a throttled poll waits longer and asks again, no step failing.
    outcomes = lambda_outcomes(pipeline, description)
    assert set(outcomes) == {"ok", "VolcThrottledError"}
    assert outcomes["VolcThrottledError"] == 2
    states = states_entered(pipeline, description)
    assert states.count("Submit") == 1
    assert states.count("WaitForAdmission") == 1
    assert pipeline.emulator.admin.throttles()["by_action"] == {
        "CVSubmitTask": {"50429": 2},
        "CVGetResult": {"50429": 2},
    }
    assert the_one_event(pipeline, "job-throttled")["detail-type"] == "LipSync Job Succeeded"
    assert pipeline.emulator.admin.submissions()["total"] == 1


def test_a_transient_service_error_is_retried(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults(
        {"fault": "internal", "action": "CVGetResult", "count": 1},
        {"fault": "html_error", "action": "CVGetResult", "count": 1},
    )
    description = pipeline.run("job-flaky")
    assert description["status"] == "SUCCEEDED"
    # A paid task's poll that meets an outage waits and asks again: no step fails.
    assert set(lambda_outcomes(pipeline, description)) == {"ok"}
    record = pipeline.record("job-flaky")
    assert record.status == "SUCCEEDED"
    assert pipeline.emulator.admin.submissions()["total"] == 1


def test_a_terminal_failure_ends_in_one_failed_event_and_no_output(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults(
        {"fault": "task_failed", "code": 50413, "message": "Post Text Risk Not Pass"}
    )
    description = pipeline.run("job-moderated")
    assert description["status"] == "FAILED"
    assert description["error"] == "LipSyncJobFailed"
    event = the_one_event(pipeline, "job-moderated")
    assert event["detail-type"] == "LipSync Job Failed"
    error = event["detail"]["error"]
    assert (error["name"], error["code"], error["retryable"]) == ("VolcContentModerationError", 50413, False)
    assert "Post Text Risk Not Pass" in error["message"]
    assert error["request_id"]
    record = pipeline.record("job-moderated")
    assert record.status == "FAILED"
    assert record.error is not None
    assert record.error["code"] == 50413
    assert pipeline.objects() == []
    assert pipeline.multipart_uploads() == []


def test_an_expired_task_is_resubmitted(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults({"fault": "expired", "count": 1})
    description = pipeline.run("job-expired")
    assert description["status"] == "SUCCEEDED"
    assert pipeline.emulator.admin.submissions()["total"] == 2
    record = pipeline.record("job-expired")
    assert sorted(record.attempts) == ["1", "2"]
    assert record.attempt == 2
    assert the_one_event(pipeline, "job-expired")["detail"]["attempt"] == 2


def test_a_task_lost_more_often_than_allowed_fails(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults({"fault": "not_found", "count": 3})
    description = pipeline.run("job-lost")
    assert description["status"] == "FAILED"
    assert pipeline.emulator.admin.submissions()["total"] == 3
    error = the_one_event(pipeline, "job-lost")["detail"]["error"]
    assert error["name"] == "TaskLostError"
    assert "not_found" in error["message"]


def test_an_invalid_request_fails_with_the_reason_and_pays_nothing(pipeline: Pipeline) -> None:
    description = pipeline.run("job-invalid", pipeline.request(options={"open_scenedet": True}))
    assert description["status"] == "FAILED"
    error = the_one_event(pipeline, "job-invalid")["detail"]["error"]
    assert error["name"] == "ValidationError"
    assert "open_scenedet" in error["message"]
    assert pipeline.emulator.admin.submissions()["total"] == 0


def test_an_unconfirmed_submit_is_not_repeated(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from lipsync_core.jobs import clients

    pipeline.emulator.admin.add_faults({"fault": "reset", "action": "CVSubmitTask", "count": 1})
    description = pipeline.run("job-unconfirmed")
    assert description["status"] == "FAILED"
    error = the_one_event(pipeline, "job-unconfirmed")["detail"]["error"]
    assert error["name"] == "VolcSubmitUnconfirmedError"
    assert clients.job_store().get("job-unconfirmed").claims.keys() == {"1"}


def test_the_deadline_is_enforced(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from lipsync_core.jobs import clients

    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "0")
    clients.settings.cache_clear()
    description = pipeline.run("job-late")
    assert description["status"] == "FAILED"
    assert the_one_event(pipeline, "job-late")["detail"]["error"]["name"] == "JobDeadlineExceededError"


def test_the_same_job_id_runs_once(pipeline: Pipeline) -> None:
    first = pipeline.local.start_job("job-twice", pipeline.request())
    second = pipeline.local.start_job("job-twice", pipeline.request())
    assert first == second, "same name and input: Step Functions returns the running execution"
    assert pipeline.local.wait(first)["status"] == "SUCCEEDED"
    assert pipeline.emulator.admin.submissions()["total"] == 1


def test_a_broken_result_download_is_retried_and_leaves_no_parts(pipeline: Pipeline) -> None:
    pipeline.emulator.admin.add_faults({"fault": "truncate", "count": 1})
    description = pipeline.run("job-truncated")
    assert description["status"] == "SUCCEEDED"
    assert lambda_outcomes(pipeline, description)["ResultDownloadError"] == 1
    assert pipeline.objects() == ["outputs/job-truncated.job.json", "outputs/job-truncated.mp4"]
    assert pipeline.multipart_uploads() == []
