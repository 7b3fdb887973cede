"""CDK assertions on the synthesized stack: resources, least privilege, the definition's Retry and
Catch, cdk-nag (synth fails on any unacknowledged finding), cfn-lint and checkov."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aws_cdk.assertions import Match, Template

from infra.app_factory import build_app
from infra.lambda_target import LambdaTarget
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("synth")  # one synthesis for the modules that read it

RETRYABLE = {"VolcThrottledError", "VolcUnavailableError"}
TERMINAL = {
    "VolcAuthError",
    "VolcInvalidRequestError",
    "VolcTaskFailedError",
    "VolcSubmitUnconfirmedError",
    "VolcUnknownError",
    "TaskLostError",
    "JobDeadlineExceededError",
    "ResultUrlRejectedError",
}


def policies_by_function(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every statement attached to each function's role, keyed by the function's short name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = json.dumps(resource["Properties"]["Roles"])
        names = ("dispatch", "submit", "poll", "copyresult", "recordfailure", "start", "api", "prepare")
        for name in (*names, "joinsegments"):
            if f"Functions{name}role" in roles or f"Preparation{name}role" in roles:
                out.setdefault(name, []).extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return out


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


def test_the_core_resources(template: Template) -> None:
    ours = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "handler.handler"}})
    assert len(ours) == 12, (
        "dispatch, submit, poll, copy_result, record_failure, start, api, reconcile, batch_progress, "
        "webhook, prepare, join_segments"
    )
    for function in ours.values():
        assert function["Properties"]["Runtime"] == LambdaTarget().runtime_name
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {"StateMachineType": "STANDARD"})
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "Replicas": [
                Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ],
        },
    )
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "LipSync"})  # the stack's name
    # Indexes of keys only: a job's many updates do not rewrite whole items in its indexes (by-status,
    # by-created, and the line's sparse by-line).
    [jobs] = [t for t in template.find_resources("AWS::DynamoDB::GlobalTable").values() if "Jobs" in str(t)]
    projections = [index["Projection"] for index in jobs["Properties"]["GlobalSecondaryIndexes"]]
    assert projections == [{"ProjectionType": "KEYS_ONLY"}] * 3
    # Retained, so named by CloudFormation: a fixed name would fail the next deploy after a delete.
    for secret in template.find_resources("AWS::SecretsManager::Secret").values():
        assert "Name" not in secret["Properties"]
    # CopyResult: one whole vCPU for 900 s, whatever the result's size.
    template.has_resource_properties("AWS::Lambda::Function", {"MemorySize": 1769, "Timeout": 900})


def test_the_bucket_is_private_encrypted_tls_only_and_cleans_up(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.any_value(),
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}),
                        Match.object_like({"Prefix": "inputs/", "ExpirationInDays": 30}),
                        Match.object_like({"Prefix": "prepared/", "ExpirationInDays": 30}),
                        Match.object_like({"Prefix": "outputs/_segments/", "ExpirationInDays": 30}),
                    ]
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_each_function_reaches_only_what_it_needs(synthesized: Synthesized) -> None:
    policies = policies_by_function(synthesized[1]["Resources"])
    granted = {name: actions(statements) for name, statements in policies.items()}
    item_actions = {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    creates = item_actions | {"dynamodb:PutItem"}  # only where new jobs are recorded
    secret_actions = {"secretsmanager:GetSecretValue"}
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    xray = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    # Submit reads inputs only through the input reader role, whose sessions sign the input URLs; its
    # own S3 access is the look at the output key (HeadObject, and ListBucket so a free key is a 404).
    assert granted["submit"] == item_actions | secret_actions | {"sts:AssumeRole"} | logs | xray | {
        "s3:GetObject",
        "s3:ListBucket",
    }
    assert granted["poll"] == item_actions | secret_actions | logs | xray
    assert granted["copyresult"] == item_actions | secret_actions | logs | xray | {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:ListBucket",
    }
    # Prepare reads inputs through the input reader role too; it writes its copies under prepared/, and
    # records a job started directly (its request in the state): it runs first.
    assert granted["prepare"] == creates | {"sts:AssumeRole"} | logs | xray | {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    # The join reads the segments' results and the voice, writes the job's result as CopyResult does,
    # and removes the results it joined (outputs/_segments/ only: tests below).
    assert granted["joinsegments"] == item_actions | logs | xray | {
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
    }
    # Taking jobs out of the line (their entries in the job table) is a delete; nothing else deletes.
    assert granted["recordfailure"] == item_actions | logs | xray | {"dynamodb:DeleteItem"}
    # The line's first step records a job started directly (its request in the execution's input).
    assert granted["dispatch"] == creates | logs | xray | {
        "dynamodb:DeleteItem",
        "dynamodb:Query",  # the line's index only (tests/infra/test_flow_control.py)
        "states:SendTaskSuccess",
        # The flow table's stream, as the event source mapping reads it.
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        # Its schedule's on-failure destination (every rule-targeted function has one).
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    events = {"events:PutEvents"}
    assert granted["start"] == creates | logs | xray | events | {
        "states:StartExecution",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",  # a deleted manifest is a 404, not a 403
        "s3:PutObject",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }  # its failed-delivery queue
    # The API presigns through the URL signer role; its own S3 write is the batch manifest.
    assert granted["api"] == creates | logs | xray | events | secret_actions | {
        "states:StartExecution",
        "states:StopExecution",
        "dynamodb:Query",
        "dynamodb:DeleteItem",  # cancel takes a waiting job out of the line
        "dynamodb:BatchGetItem",  # a listing's page (the indexes hold keys only)
        "s3:PutObject",
        "sts:AssumeRole",
    }
    for name, statements in policies.items():
        for statement in statements:
            for action in actions([statement]):
                assert "*" not in action, f"{name}: wildcard action {action}"
            if set(actions([statement])) & {"s3:PutObject", "s3:GetObject"}:
                resource = json.dumps(statement["Resource"])
                assert any(
                    p in resource
                    for p in (
                        "/outputs/*",
                        "/jobs/*",
                        "/jobs/batches/*",
                        "/rejections/*",
                        "/inputs/*",
                        "/prepared/*",
                    )
                ) or (name == "submit"), f"{name}: S3 scope {resource}"


def test_retries_only_on_retryable_errors_with_backoff_and_jitter(definition: dict[str, Any]) -> None:
    states = definition["States"]
    for name in ("Submit", "Poll", "CopyResult"):
        retried = {error for retry in states[name]["Retry"] for error in retry["ErrorEquals"]}
        assert retried >= RETRYABLE, name
        assert not retried & TERMINAL, f"{name} retries a terminal error"
        assert "States.ALL" not in retried
        for retry in states[name]["Retry"]:
            if set(retry["ErrorEquals"]) & RETRYABLE:
                assert retry["JitterStrategy"] == "FULL"
                assert retry["BackoffRate"] >= 2
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ]
    assert any("ResultDownloadError" in r["ErrorEquals"] for r in states["CopyResult"]["Retry"])


def test_the_shape_of_the_loop(definition: dict[str, Any]) -> None:
    states = definition["States"]
    # The inputs are judged before the job waits in the line or pays; whatever Prepare raises ends in the
    # failure path.
    assert definition["StartAt"] == "Prepare"
    assert states["Prepare"]["Next"] == "Segmented"
    assert states["Prepare"]["ResultPath"] == "$.prepared"  # on the job's record too; the plan feeds the Map
    # A voice over one task's limit runs as segments (a Map of the same states, prefixed), then the join.
    assert states["Segmented"]["Choices"] == [
        {"Variable": "$.prepared.segments.segments", "IsPresent": True, "Next": "Segments"}
    ]
    assert states["Segmented"]["Default"] == "WaitForAdmission"
    segments = states["Segments"]
    assert segments["ItemsPath"] == "$.prepared.segments.segments"
    assert segments["ResultPath"] is None
    assert segments["Next"] == "JoinSegments"
    assert [c["Next"] for c in segments["Catch"]] == ["RecordFailure"]
    inner = segments["ItemProcessor"]["States"]
    assert segments["ItemProcessor"]["StartAt"] == "SegmentWaitForAdmission"
    assert inner["SegmentCopyResult"]["Next"] == "SegmentDone"
    assert inner["SegmentRecordFailure"]["Next"] == "SegmentFailed"
    assert inner["SegmentFailed"] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    assert states["JoinSegments"]["Next"] == "EmitSucceeded"
    assert [c["Next"] for c in states["Prepare"]["Catch"]] == ["RecordFailure"]
    assert any("InputUnreadableError" in r["ErrorEquals"] for r in states["Prepare"]["Retry"])
    assert states["WaitForAdmission"]["Next"] == "Submit"  # the line (tests/infra/test_flow_control.py)
    assert states["Submit"]["Next"] == "WaitBeforePoll"
    assert states["WaitBeforePoll"]["SecondsPath"] == "$.cursor.wait_seconds"
    choices = json.dumps(states["TaskStatus"]["Choices"])
    for status in ("in_queue", "generating", "done", "not_found", "expired"):
        assert status in choices
    assert states["TaskStatus"]["Default"] == "TaskLost"
    assert states["EmitSucceeded"]["Next"] == "JobSucceeded"
    assert states["EmitFailed"]["Next"] == "JobFailed"
    assert states["RecordFailure"]["Next"] == "NewlyFailed"
    assert states["NewlyFailed"]["Choices"][0]["Next"] == "EmitFailed"
    assert states["NewlyFailed"]["Default"] == "JobAlreadyFinished"
    assert states["JobAlreadyFinished"]["Type"] == "Succeed", "a cancellation is not a failed execution"
    assert "input_unreachable" in choices, "an input the service could not fetch is resubmitted"
    # A backstop past the longest wait in the line and the job's deadline after it.
    assert definition["TimeoutSeconds"] == states["WaitForAdmission"]["TimeoutSeconds"] + 6 * 3600 + 1800


def test_cfn_lint_is_clean(synthesized: Synthesized) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            "W3005",
            "--non-zero-exit-code",
            "error",
            "--",
            str(synthesized[2]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


CHECKOV = Path(__file__).resolve().parents[2] / "build" / "checkov" / "bin" / "checkov"


def test_checkov_finds_nothing_that_is_not_acknowledged_with_a_reason(synthesized: Synthesized) -> None:
    assert CHECKOV.exists(), "make setup installs checkov (requirements/checkov.txt) into build/checkov"
    command = [
        str(CHECKOV),
        "-f",
        str(synthesized[2]),
        "--framework",
        "cloudformation",
        "-o",
        "json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    report = json.loads(result.stdout)
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert not failed, f"fix each, or acknowledge it with its reason in infra/checkov.py: {failed}"
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the acknowledgements are read"
    assert all(len(check["check_result"].get("suppress_comment", "")) > 30 for check in skipped)


def test_context_changes_the_configuration(tmp_path: Path) -> None:
    _, stack = build_app(
        outdir=str(tmp_path),
        nag=False,
        context={
            "aws:cdk:bundling-stacks": [],
            "lipsync:poll_first_seconds": 5,
            "lipsync:copy_memory_mb": 512,
        },
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"MemorySize": 512, "Environment": {"Variables": Match.object_like({"POLL_FIRST_SECONDS": "5"})}},
    )


def test_a_deadline_past_the_task_lifetime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="12-hour"):
        build_app(outdir=str(tmp_path), nag=False, context={"lipsync:job_deadline_seconds": 12 * 3600})


def test_an_unknown_input_spec_is_refused_at_synth(tmp_path: Path) -> None:
    typo = '{"lite": {"max_fsp": 25}}'
    with pytest.raises(ValueError, match="unknown input spec setting"):
        build_app(outdir=str(tmp_path), nag=False, context={"lipsync:input_specs": typo})


def test_every_api_method_requires_iam_and_validates(template: Template) -> None:
    methods = template.find_resources("AWS::ApiGateway::Method")
    routes = set()
    for method in methods.values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        assert props["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in props
        routes.add(props["HttpMethod"])
    assert routes == {"GET", "POST", "DELETE"}
    assert len([m for m in methods.values() if m["Properties"]["HttpMethod"] != "OPTIONS"]) == 8
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with([Match.object_like({"ThrottlingRateLimit": 20})]),
        },
    )


def test_the_request_rule_matches_only_the_request_detail_type(template: Template) -> None:
    rules = template.find_resources("AWS::Events::Rule")
    patterns = [
        r["Properties"]["EventPattern"]
        for r in rules.values()
        if "EventBusName" in r["Properties"]  # rules on the stack's bus (the others are Step Functions')
    ]
    ended = {
        "source": ["lipsync.pipeline"],
        "detail-type": ["LipSync Job Succeeded", "LipSync Job Failed", "LipSync Job Cancelled"],
    }  # only this pipeline's jobs
    expected = {"source": ["lipsync.client"], "detail-type": ["LipSync Job Requested"]}
    assert patterns == [
        expected,  # only the allowed sources (cdk.json) start paid jobs
        {**ended, "detail": {"job_id": [{"prefix": "batch-"}]}},  # a batch's jobs, counted
        ended,  # webhooks
    ]
    template.has_resource_properties("AWS::Events::Archive", {"EventPattern": expected, "RetentionDays": 30})


def test_manifests_under_jobs_trigger_start(template: Template) -> None:
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Events": ["s3:ObjectCreated:*"],
                                "Filter": {
                                    "Key": {
                                        "FilterRules": Match.array_with(
                                            [{"Name": "suffix", "Value": ".json"}]
                                        )
                                    }
                                },
                            }
                        ),
                        Match.object_like(  # batches: JSON Lines manifests
                            {
                                "Filter": {
                                    "Key": {
                                        "FilterRules": Match.array_with(
                                            [{"Name": "suffix", "Value": ".jsonl"}]
                                        )
                                    }
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Filter": {
                                    "Key": {
                                        "FilterRules": Match.array_with(
                                            [{"Name": "prefix", "Value": "jobs/"}]
                                        )
                                    }
                                }
                            }
                        )
                    ]
                )
            }
        },
    )


def test_alarms_exist_for_the_named_metrics(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = {(a["Properties"].get("Namespace"), a["Properties"].get("MetricName")) for a in alarms.values()}
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("AWS/Lambda", "Throttles") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert ("AWS/ApiGateway", "5XXError") in metrics
    assert ("AWS/ApiGateway", "Latency") in metrics
    assert ("LipSync", "ApiThrottled") in metrics
    table_metrics = {
        m["MetricStat"]["Metric"]["MetricName"]
        for a in alarms.values()
        for m in a["Properties"].get("Metrics", [])
        if "MetricStat" in m
    }
    assert {"ThrottledRequests", "SystemErrors"} <= table_metrics
    assert len(alarms) == 2 + 2 * 12 + 1 + 3 + 2
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the topic"
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_every_function_of_ours_has_its_error_and_throttle_alarms(template: Template) -> None:
    ours = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "handler.handler"}})
    watched: dict[str, set[str]] = {}
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties.get("Namespace") == "AWS/Lambda":
            [dimension] = properties["Dimensions"]
            assert dimension["Name"] == "FunctionName"
            watched.setdefault(dimension["Value"]["Ref"], set()).add(properties["MetricName"])
    assert len(ours) == 12
    assert watched == {logical_id: {"Errors", "Throttles"} for logical_id in ours}


def test_the_api_model_refuses_oversize_and_derived_ids_at_the_edge(template: Template) -> None:
    [model] = template.find_resources("AWS::ApiGateway::Model").values()
    validator = jsonschema.Draft4Validator(model["Properties"]["Schema"])
    valid = {"mode": "lite", "video": "https://cdn.example/f.mp4", "audio": "s3://bucket/v.wav"}
    assert validator.is_valid({**valid, "job_id": "my-job", "aigc_meta": {"producer_id": "p"}})
    for hostile in (
        {**valid, "aigc_meta": {"producer_id": "p" * 257}},
        {**valid, "video": "https://cdn.example/" + "v" * 4096},
        {**valid, "mode": "m" * 65},
        {**valid, "job_id": "api-0123"},
        {**valid, "job_id": "S3-x"},
        {**valid, "surplus": True},
        {**valid, "options": {f"o{i}": True for i in range(9)}},
    ):
        assert not validator.is_valid(hostile), hostile
