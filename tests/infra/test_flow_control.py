"""The flow control's infrastructure: Lambda throttling retried on every Lambda task, the line (a task
paused on its token, a sparse index, the dispatcher and what starts it), the last-resort paths, and the
reconciler's and the dispatcher's rules and least-privilege roles."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.workflow import UNTIL_DEADLINE

pytestmark = pytest.mark.xdist_group("synth")


def test_lambda_throttling_is_retried_on_every_lambda_task(definition: dict[str, Any]) -> None:
    states = dict(definition["States"])
    states |= definition["States"]["Segments"]["ItemProcessor"]["States"]  # a segment's own states
    lambda_tasks = {
        name: state
        for name, state in states.items()
        if state["Type"] == "Task" and "states:::" not in state["Resource"]  # not a service integration
    }
    one_task = {"Submit", "Poll", "CopyResult", "RecordFailure"}
    assert set(lambda_tasks) == {"Prepare", "JoinSegments", *one_task, *(f"Segment{n}" for n in one_task)}
    for name, state in lambda_tasks.items():
        [retry] = [r for r in state["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert retry["MaxAttempts"] == UNTIL_DEADLINE, name  # only the deadline (the timeout) ends it
        assert retry["JitterStrategy"] == "FULL"
        assert retry["MaxDelaySeconds"] <= 60
        # States.ALL, where present, comes last, as Step Functions requires.
        assert "States.ALL" not in json.dumps(state["Retry"][:-1]), name


def test_a_job_without_capacity_waits_in_the_line_paused_on_a_task_token(definition: dict[str, Any]) -> None:
    states = definition["States"]
    line = states["WaitForAdmission"]
    assert definition["StartAt"] == "Prepare"  # the inputs first: a refused job takes no place in line
    assert states["Prepare"]["Next"] == "Segmented"
    assert states["Segmented"]["Default"] == "WaitForAdmission"  # one task; segments each wait in line too
    segment_line = states["Segments"]["ItemProcessor"]["States"]["SegmentWaitForAdmission"]
    assert segment_line["Resource"] == line["Resource"]
    assert segment_line["Parameters"] == line["Parameters"]
    assert line["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert line["Parameters"]["Payload"] == {"state.$": "$", "token.$": "$$.Task.Token"}
    assert line["ResultPath"] == "$.admission"
    assert line["TimeoutSeconds"] == 7 * 86400  # max_queue_seconds: the line's own bound
    assert "HeartbeatSeconds" not in line  # nothing periodic while a job waits
    [timed_out, everything] = line["Catch"]
    assert timed_out == {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "LineTimedOut"}
    assert states["LineTimedOut"]["Parameters"]["Error"] == "JobQueueTimeoutError"
    assert states["LineTimedOut"]["Next"] == everything["Next"] == "RecordFailure"
    # No loop for capacity: nothing leads back to Submit or to the line (Prepare, first, leads to it).
    assert not [
        name
        for name, state in states.items()
        if state.get("Next") in ("Submit", "WaitForAdmission") and name not in ("WaitForAdmission", "Prepare")
    ]
    assert "WaitForCapacity" not in states
    # A submission deferred for the rate, or throttled by others, is retried as long as the deadline allows.
    deferred = [r for r in states["Submit"]["Retry"] if "SubmitDeferredError" in r["ErrorEquals"]]
    assert deferred[0]["MaxAttempts"] == UNTIL_DEADLINE
    throttled = [r for r in states["Poll"]["Retry"] if "VolcThrottledError" in r["ErrorEquals"]]
    assert throttled[0]["MaxAttempts"] == UNTIL_DEADLINE


def test_the_line_is_a_sparse_keys_only_index_of_the_job_table(resources: dict[str, Any]) -> None:
    jobs = resources[_logical_id(resources, "AWS::DynamoDB::GlobalTable", "/Jobs")]["Properties"]
    [line] = [i for i in jobs["GlobalSecondaryIndexes"] if i["IndexName"] == "by-line"]
    assert line["KeySchema"] == [
        {"AttributeName": "line", "KeyType": "HASH"},
        {"AttributeName": "line_order", "KeyType": "RANGE"},
    ]
    assert line["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    flow = resources[_logical_id(resources, "AWS::DynamoDB::GlobalTable", "FlowControl")]["Properties"]
    assert flow["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_releases_and_a_schedule_start_the_dispatcher(resources: dict[str, Any]) -> None:
    dispatch = _logical_id(resources, "AWS::Lambda::Function", "dispatch")
    [mapping] = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert mapping["FunctionName"] == {"Ref": dispatch}
    assert mapping["EventSourceArn"] == {
        "Fn::GetAtt": [_logical_id(resources, "AWS::DynamoDB::GlobalTable", "FlowControl"), "StreamArn"]
    }
    assert (mapping["StartingPosition"], mapping["MaximumBatchingWindowInSeconds"]) == ("LATEST", 0)
    assert mapping["MaximumRetryAttempts"] == 2  # a nudge: the schedule covers what is dropped
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert patterns == [
        {
            "eventName": ["MODIFY"],
            "dynamodb": {
                "Keys": {"key": {"S": [{"prefix": "slots#"}]}},
                "NewImage": {"last_change": {"S": ["release"]}},
            },
        },
        {"dynamodb": {"Keys": {"key": {"S": [{"prefix": "wake#"}]}}}},
    ]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    [sweep] = [r for r in rules if r["Targets"][0]["Arn"] == {"Fn::GetAtt": [dispatch, "Arn"]}]
    assert sweep["ScheduleExpression"] == "rate(1 minute)"
    assert "DeadLetterConfig" in sweep["Targets"][0]


def test_the_dispatcher_reaches_only_what_it_needs(resources: dict[str, Any]) -> None:
    granted = _granted(resources, "Functionsdispatchrole")
    jobs = _logical_id(resources, "AWS::DynamoDB::GlobalTable", "/Jobs")
    flow = _logical_id(resources, "AWS::DynamoDB::GlobalTable", "FlowControl")
    assert granted["dynamodb:Query"] == [
        json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [jobs, "Arn"]}, "/index/by-line"]]})
    ]
    assert granted["dynamodb:DeleteItem"] == [json.dumps({"Fn::GetAtt": [jobs, "Arn"]})]
    assert granted["dynamodb:GetRecords"] == [json.dumps({"Fn::GetAtt": [flow, "StreamArn"]})]
    assert granted["states:SendTaskSuccess"] == ['"*"']  # a task token names no resource
    assert not {"states:StartExecution", "states:StopExecution", "dynamodb:Scan"} & set(granted)


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
    reconcile = _logical_id(resources, "AWS::Lambda::Function", "reconcile")
    [sweep] = [
        r for r in rules if "ScheduleExpression" in r and r["Targets"][0]["Arn"]["Fn::GetAtt"][0] == reconcile
    ]
    assert sweep["ScheduleExpression"] == "rate(5 minutes)"
    for rule in (status_rule, sweep):
        [target] = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [reconcile, "Arn"]}
        assert "DeadLetterConfig" in target


def test_the_reconciler_reaches_only_what_it_needs(resources: dict[str, Any]) -> None:
    granted = {
        action: " ".join(where)
        for action, where in _granted(resources, "Reconciliationreconcilerole").items()
    }
    assert set(granted) == {
        "dynamodb:DeleteItem",  # an ended job leaves the line
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


def _granted(resources: dict[str, Any], role: str) -> dict[str, list[str]]:
    """Action -> the resources (as JSON) the role's policies grant it on."""
    granted: dict[str, list[str]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy" or role not in json.dumps(resource["Properties"]["Roles"]):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            for name in [action] if isinstance(action, str) else action:
                granted.setdefault(name, []).append(json.dumps(statement["Resource"]))
    return granted


def _logical_id(resources: dict[str, Any], kind: str, path_part: str = "") -> str:
    [found] = [
        k
        for k, r in resources.items()
        if r["Type"] == kind and path_part in r.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    return found
