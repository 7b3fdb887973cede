"""What a real account needs beyond a clean synth: alarms CloudWatch can deliver, undeliverable requests
kept, the operator's data retained, a regional API that leaves the account's logging role alone,
cdk-nag acknowledgements on the constructs they are about, and asl-validator on the definition."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from infra.app_factory import build_app
from infra.nag import NOTIFICATIONS_FINDINGS
from lipsync.local.template import Template as LocalTemplate
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("synth")  # one synthesis for the modules that read it
ASL_VALIDATOR = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "asl-validator"
PIPELINE = "/LipSync/Default"  # the stack's pipeline (its id is left out of logical ids)


def of_type(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources.values() if r["Type"] == kind]


def cloudwatch_statement(statements: list[dict[str, Any]]) -> dict[str, Any]:
    [statement] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    return statement


def assert_scoped_to_this_stacks_alarms(statement: dict[str, Any]) -> None:
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = json.dumps(condition["ArnLike"]["aws:SourceArn"])
    assert ":cloudwatch:" in source_arn
    assert ":alarm:LipSync-*" in source_arn


def test_the_alarm_topic_uses_a_key_cloudwatch_may_use(resources: dict[str, Any]) -> None:
    [topic] = of_type(resources, "AWS::SNS::Topic")
    key_ref = topic["Properties"]["KmsMasterKeyId"]
    assert "alias/aws/sns" not in json.dumps(key_ref), "CloudWatch cannot use the AWS-managed key"
    [key] = of_type(resources, "AWS::KMS::Key")
    assert key_ref == {"Fn::GetAtt": [k for k, r in resources.items() if r is key] + ["Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    statement = cloudwatch_statement(key["Properties"]["KeyPolicy"]["Statement"])
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert_scoped_to_this_stacks_alarms(statement)


def test_the_topic_policy_lets_this_accounts_alarms_publish_over_tls_only(resources: dict[str, Any]) -> None:
    [policy] = of_type(resources, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    statement = cloudwatch_statement(statements)
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sns:Publish")
    assert_scoped_to_this_stacks_alarms(statement)
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)


def test_every_alarm_is_named_under_the_stack_and_notifies_the_topic(resources: dict[str, Any]) -> None:
    [topic_id] = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm"):
        assert alarm["Properties"]["AlarmName"].startswith("LipSync-"), "the SourceArn condition matches"
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


def test_api_throttling_is_counted_from_the_access_log(resources: dict[str, Any]) -> None:
    [stage] = of_type(resources, "AWS::ApiGateway::Stage")
    assert '"status":"$context.status"' in stage["Properties"]["AccessLogSetting"]["Format"]
    [metric_filter] = of_type(resources, "AWS::Logs::MetricFilter")
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.status = "429" }'
    assert metric_filter["Properties"]["LogGroupName"] == {"Ref": stage_log_group(resources, stage)}


def stage_log_group(resources: dict[str, Any], stage: dict[str, Any]) -> str:
    destination = stage["Properties"]["AccessLogSetting"]["DestinationArn"]
    return str(destination["Fn::GetAtt"][0])


def test_every_rule_target_has_a_dead_letter_queue(resources: dict[str, Any]) -> None:
    [queue_id] = [
        k for k, r in resources.items() if "FailedDeliveries" in k and r["Type"] == "AWS::SQS::Queue"
    ]
    rules = of_type(resources, "AWS::Events::Rule")
    assert rules
    for rule in rules:
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
            assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    [queue_policy] = of_type(resources, "AWS::SQS::QueuePolicy")
    statements = queue_policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} for s in statements)


def test_the_operators_data_is_retained(template: Template, resources: dict[str, Any]) -> None:
    for kind in ("AWS::SecretsManager::Secret", "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket"):
        found = template.find_resources(kind)
        assert found, kind
        for logical_id, resource in found.items():
            if logical_id.startswith("StorageFlowControl"):
                # Flow control's slots and rate state: nothing worth keeping past the stack.
                assert resource["DeletionPolicy"] == "Delete"
                continue
            assert resource["DeletionPolicy"] == "Retain", kind
            assert resource["UpdateReplacePolicy"] == "Retain", kind
    # The alarm key only protects transient notifications: it goes (after AWS's waiting period).
    [key] = of_type(resources, "AWS::KMS::Key")
    assert (key["DeletionPolicy"], key["Properties"]["PendingWindowInDays"]) == ("Delete", 7)


def test_what_holds_data_keeps_its_logical_id_so_an_update_replaces_nothing(
    resources: dict[str, Any],
) -> None:
    # The ids these resources were first deployed with: a new id would make CloudFormation create a new
    # bucket, table, secret, bus or queue (the retained ones left behind, named ones in conflict).
    kept = {
        "StorageAccessLogs96FB524C": "AWS::S3::Bucket",
        "StorageMedia9333CB25": "AWS::S3::Bucket",
        "StorageJobs4C7573CB": "AWS::DynamoDB::GlobalTable",
        "StorageFlowControlB725E817": "AWS::DynamoDB::GlobalTable",
        "CredentialsSecret40F8BB41": "AWS::SecretsManager::Secret",
        "WebhooksSecret14C8806E": "AWS::SecretsManager::Secret",
        "EventsBus45DE4339": "AWS::Events::EventBus",
        "EntryFunctionsFailedDeliveries3A478E8F": "AWS::SQS::Queue",
    }
    assert {
        logical_id: resources[logical_id]["Type"] for logical_id in kept if logical_id in resources
    } == kept


def test_the_api_is_regional_and_sets_a_logging_role_that_outlives_the_stack(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}, "Name": "LipSync-api"}
    )
    # A fresh account has no API Gateway CloudWatch role, and the stage's logs need one: the stack sets
    # it, and keeps it when deleted (the account's other APIs log through it too).
    [account] = template.find_resources("AWS::ApiGateway::Account").values()
    [role_id] = [k for k, r in template.find_resources("AWS::IAM::Role").items() if "CloudWatchRole" in k]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert account["DeletionPolicy"] == template.find_resources("AWS::IAM::Role")[role_id]["DeletionPolicy"]
    assert account["DeletionPolicy"] == "Retain"
    [stage] = template.find_resources("AWS::ApiGateway::Stage").values()
    assert any(
        account_id in stage.get("DependsOn", [])
        for account_id in template.find_resources("AWS::ApiGateway::Account")
    )


def test_the_account_role_endpoint_sources_and_stack_name_come_from_context(tmp_path: Path) -> None:
    _, stack = build_app(
        outdir=str(tmp_path),
        nag=False,
        context={
            "aws:cdk:bundling-stacks": [],
            "lipsync:api_cloud_watch_role": "true",
            "lipsync:api_endpoint_type": "EDGE",
            "lipsync:request_sources": "my.app, billing.batch",
            "lipsync:stack_name": "LipSyncSmoke1",  # what `make smoke` deploys beside the real one
        },
    )
    assert stack.stack_name == "LipSyncSmoke1"
    template = Template.from_stack(stack)
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmName"].startswith("LipSyncSmoke1-")
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["EDGE"]}}
    )
    template.has_resource_properties(
        "AWS::Events::Rule", {"EventPattern": Match.object_like({"source": ["my.app", "billing.batch"]})}
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"lipsync:request_sources": " , "}, "request_sources"),
        ({"lipsync:api_endpoint_type": "GLOBAL"}, "REGIONAL"),
    ],
)
def test_bad_context_is_refused(tmp_path: Path, context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_app(outdir=str(tmp_path), nag=False, context=context)


def acknowledgements(synthesized: Synthesized) -> dict[str, set[str]]:
    """Construct path -> the rule ids acknowledged on it, as cdk-nag reads them."""
    metadata = json.loads((synthesized[2].parent / "LipSync.metadata.json").read_text())
    found: dict[str, set[str]] = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.setdefault(path, set()).update(k.removeprefix("Annotation::") for k in entry["data"])
    return found


def test_acknowledgements_sit_on_the_constructs_they_are_about(synthesized: Synthesized) -> None:
    found = acknowledgements(synthesized)
    assert "/LipSync" not in found, "nothing is acknowledged for the whole stack"
    expected = {
        f"{PIPELINE}/{path}": set(rules) for path, rules in synthesized[3].pipeline.acknowledgements.items()
    }
    # CDK's bucket-notification helper is the stack's, shared by whatever pipelines it holds.
    expected["/LipSync/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role"] = set(
        NOTIFICATIONS_FINDINGS
    )
    # "Not the newest runtime" is acknowledged on each function itself (infra/signing_layer.py), and
    # only while the configured runtime is older than the newest.
    runtime_only = {path for path, rules in found.items() if rules == {"AwsSolutions-L1"}}
    functions = {
        "/" + r["Metadata"]["aws:cdk:path"].removesuffix("/Resource")
        for r in synthesized[1]["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == "handler.handler"
    }
    assert runtime_only == functions
    assert {p: r for p, r in found.items() if p not in runtime_only} == expected


def test_each_wildcard_acknowledgement_names_every_action_it_covers(synthesized: Synthesized) -> None:
    reasons = synthesized[3].pipeline.acknowledgements
    for resource in synthesized[1]["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        path = (
            "/" + resource["Metadata"]["aws:cdk:path"].removesuffix("/DefaultPolicy/Resource")
        ).removeprefix(f"{PIPELINE}/")
        reason = reasons.get(path, {}).get("AwsSolutions-IAM5[Resource::*]")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] != "*":
                continue
            assert reason, f"{path}: a '*' resource nobody acknowledged"
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            for action in actions:
                service, name = action.split(":")
                # A task token names no resource IAM can scope: the dispatcher's resume is the exception.
                resumes = path == "Functions/dispatch-role" and action == "states:SendTaskSuccess"
                assert service in ("xray", "logs") or resumes, f"{path}: {action}"
                assert name in reason, f"{path}: the reason does not name {action}"


def test_a_wildcard_elsewhere_is_not_covered_by_them(tmp_path: Path) -> None:
    # Also the optional account role and another stack name: their acknowledgements hold there too.
    context = {"lipsync:api_cloud_watch_role": "true", "lipsync:stack_name": "LipSyncSmoke1"}
    app, stack = build_app(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": [], **context}, nag=True)
    role = iam.Role(stack, "Unreviewed", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.dumps(json.loads((tmp_path / "validation-report.json").read_text()))
    assert "LipSyncSmoke1/Unreviewed/DefaultPolicy/Resource" in report
    for reviewed in ("submit-role", "StateMachine/Role", "CloudWatchRole", "FailedDeliveries"):
        assert reviewed not in report


def asl_validator(path: Path) -> subprocess.CompletedProcess[str]:
    assert ASL_VALIDATOR.exists(), "make setup installs asl-validator from package-lock.json"
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_asl_validator_accepts_the_definition_with_its_intrinsics_resolved(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    template = LocalTemplate(synthesized[2])
    [machine] = template.of_type("AWS::StepFunctions::StateMachine")
    text = template.resolve(template.resources[machine]["Properties"]["DefinitionString"])
    assert json.loads(text)["States"]["Submit"]["Resource"].startswith("arn:aws:lambda:")
    definition = tmp_path / "definition.json"
    definition.write_text(text)
    result = asl_validator(definition)
    assert result.returncode == 0, result.stdout + result.stderr
    # The validator is live: a dangling transition is refused.
    broken = json.loads(text)
    broken["States"]["WaitBeforePoll"]["Next"] = "NoSuchState"
    definition.write_text(json.dumps(broken))
    assert asl_validator(definition).returncode != 0


def test_every_function_invoked_asynchronously_keeps_what_still_fails(resources: dict[str, Any]) -> None:
    # Given the functions that rules and bucket notifications invoke (asynchronously)
    targeted = {
        target["Arn"]["Fn::GetAtt"][0]
        for rule in of_type(resources, "AWS::Events::Rule")
        for target in rule["Properties"]["Targets"]
        if target["Arn"]["Fn::GetAtt"][0] in resources
        and resources[target["Arn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Lambda::Function"
    }
    for notifications in of_type(resources, "Custom::S3BucketNotifications"):
        for config in notifications["Properties"]["NotificationConfiguration"][
            "LambdaFunctionConfigurations"
        ]:
            targeted.add(config["LambdaFunctionArn"]["Fn::GetAtt"][0])
    assert len(targeted) >= 4, "start, reconcile, batch_progress, webhook"
    # Then each has an on-failure destination: an invocation that fails after Lambda's two retries is
    # kept in the failed-deliveries queue (a rule's dead-letter queue only keeps undelivered events)
    [queue_id] = [
        k for k, r in resources.items() if "FailedDeliveries" in k and r["Type"] == "AWS::SQS::Queue"
    ]
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig")
    }
    for function_id in targeted:
        config = configs[function_id]["Properties"]
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert config["MaximumRetryAttempts"] == 2


def test_a_first_deploy_meets_no_account_wide_limit_or_region_quirk(resources: dict[str, Any]) -> None:
    # The state machine logs under /aws/vendedlogs/: no entry in the account's 5,120-character CloudWatch
    # Logs resource policy, which busy accounts have filled.
    [machine] = of_type(resources, "AWS::StepFunctions::StateMachine")
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[group_id]["Properties"]["LogGroupName"] == "/aws/vendedlogs/states/LipSync-jobs"
    # The archive without the empty KmsKeyIdentifier aws-cdk-lib writes (some regions refuse "").
    [archive] = of_type(resources, "AWS::Events::Archive")
    assert "KmsKeyIdentifier" not in archive["Properties"]


def test_the_api_function_answers_before_api_gateway_gives_up(resources: dict[str, Any]) -> None:
    # API Gateway's REST integrations time out after 29 s: a longer function would answer 504 after
    # doing the work (a job created that the caller thinks failed).
    [api] = [r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and "Functionsapi" in k]
    assert api["Properties"]["Timeout"] < 29


def test_the_api_alarms_watch_this_stacks_api_only(resources: dict[str, Any]) -> None:
    # API Gateway's metrics are per API name: the alarms name the stack's own API (not the default "Api"
    # that any other API in the account may share).
    [api] = of_type(resources, "AWS::ApiGateway::RestApi")
    watched = [
        alarm["Properties"]["Dimensions"]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm")
        if alarm["Properties"].get("Namespace") == "AWS/ApiGateway"
    ]
    assert len(watched) == 2, "5xx and p99 latency"
    assert all(d == [{"Name": "ApiName", "Value": api["Properties"]["Name"]}] for d in watched)
    assert api["Properties"]["Name"] == "LipSync-api"
