"""The flow control's infrastructure: Lambda throttling retried on every Lambda task, the wait for
capacity inside the loop, the last-resort paths, and the reconciler's rules and least-privilege role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.workflow import UNTIL_DEADLINE

pytestmark = pytest.mark.xdist_group("synth")


def test_lambda_throttling_is_retried_on_every_lambda_task(definition: dict[str, Any]) -> None:
    lambda_tasks = {
        name: state
        for name, state in definition["States"].items()
        if state["Type"] == "Task" and "states:::" not in state["Resource"]  # not a service integration
    }
    assert set(lambda_tasks) == {"Prepare", "Submit", "Poll", "CopyResult", "RecordFailure"}
    for name, state in lambda_tasks.items():
        [retry] = [r for r in state["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert retry["MaxAttempts"] == UNTIL_DEADLINE, name  # only the deadline (the timeout) ends it
        assert retry["JitterStrategy"] == "FULL"
        assert retry["MaxDelaySeconds"] <= 60
        # States.ALL, where present, comes last, as Step Functions requires.
        assert "States.ALL" not in json.dumps(state["Retry"][:-1]), name


def test_a_job_without_capacity_waits_in_the_loop(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states["Submit"]["Next"] == "Admitted"
    [choice] = states["Admitted"]["Choices"]
    assert choice == {"Variable": "$.cursor.status", "StringEquals": "waiting", "Next": "WaitForCapacity"}
    assert states["Admitted"]["Default"] == "WaitBeforePoll"
    assert states["WaitForCapacity"] == {
        "Type": "Wait",
        "SecondsPath": "$.cursor.wait_seconds",
        "Next": "Submit",
    }
    throttled = [r for r in states["Poll"]["Retry"] if "VolcThrottledError" in r["ErrorEquals"]]
    assert throttled[0]["MaxAttempts"] == UNTIL_DEADLINE


def test_our_own_failures_cannot_end_a_job_silently(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states["RecordFailure"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.last_error", "Next": "FailureNotRecorded"}
    ]
    assert states["RecordFailure"]["Retry"][-1]["ErrorEquals"] == ["States.ALL"]
    for emit in ("EmitSucceeded", "EmitFailed"):
        assert states[emit]["Catch"][0]["Next"] == "AnnouncementFailed", emit
    assert states["FailureNotRecorded"]["Error"] == "LipSyncFailureNotRecorded"
    assert states["AnnouncementFailed"]["Error"] == "LipSyncAnnouncementFailed"


def test_execution_status_changes_and_a_sweep_reach_the_reconciler(resources: dict[str, Any]) -> None:
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    [status_rule] = [r for r in rules if r.get("EventPattern", {}).get("source") == ["aws.states"]]
    pattern = status_rule["EventPattern"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    assert pattern["detail"]["stateMachineArn"] == [
        {"Ref": _logical_id(resources, "AWS::StepFunctions::StateMachine")}
    ]
    assert "EventBusName" not in status_rule  # Step Functions sends to the default bus
    [sweep] = [r for r in rules if "ScheduleExpression" in r]
    assert sweep["ScheduleExpression"] == "rate(5 minutes)"
    reconcile = _logical_id(resources, "AWS::Lambda::Function", "reconcile")
    for rule in (status_rule, sweep):
        [target] = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [reconcile, "Arn"]}
        assert "DeadLetterConfig" in target


def test_the_reconciler_reaches_only_what_it_needs(resources: dict[str, Any]) -> None:
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        and "Reconciliationreconcilerole" in json.dumps(r["Properties"]["Roles"])
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    granted: dict[str, str] = {}
    for statement in statements:
        for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
            granted[action] = json.dumps(statement["Resource"])
    assert set(granted) == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "states:DescribeExecution",
        # its on-failure destination (invocations that failed after Lambda's retries are kept)
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "events:PutEvents",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert "index/by-status" in granted["dynamodb:Query"]
    assert ":execution:" in granted["states:DescribeExecution"]
    assert "StorageFlowControl" in granted["dynamodb:UpdateItem"]


def _logical_id(resources: dict[str, Any], kind: str, path_part: str = "") -> str:
    [found] = [
        k
        for k, r in resources.items()
        if r["Type"] == kind and path_part in r.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    return found
