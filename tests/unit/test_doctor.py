"""`lipsync doctor` against moto: one line per check with its fix, exit code 5 when one fails, read-only
calls only, and never a secret's value in what it prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lipsync.cli import main
from lipsync.doctor import step_functions
from lipsync.doctor.checks import BOOTSTRAP_PARAMETER, concurrency_finding, starts_finding


def stack_with_secret(arn: str) -> str:
    """A deployed stack's outputs, as far as moto's CloudFormation goes (it cannot make secrets)."""
    return json.dumps(
        {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"SecretArn": {"Value": arn}},
        }
    )


@pytest.fixture
def account() -> Iterator[Any]:
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, str]], str]:
    code = main(["doctor", "--json", *args])
    printed = capsys.readouterr().out
    return code, {f["check"]: f for f in json.loads(printed)}, printed


def test_a_fresh_account_is_told_what_to_do_first(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 5
    assert [line.split(":")[0] for line in lines] == [
        "ok   credentials",
        "fail cdk bootstrap",
        "ok   api gateway logging role",
        "ok   powertools layer",
        "warn lambda concurrency",  # moto does not implement GetAccountSettings
        "ok   step functions starts",
        "ok   step functions transitions",
        "ok   volcengine secret",
        lines[8].split(":")[0],  # depends on this machine's Pythons
    ]
    assert "(fix: node_modules/.bin/cdk bootstrap" in lines[1]
    assert "the stack sets one" in lines[2]
    assert "LipSync is not deployed yet" in lines[7]


def test_a_bootstrapped_account_with_a_managed_layer_that_is_not_published_here(
    account: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    account.client("ssm").put_parameter(Name=BOOTSTRAP_PARAMETER, Value="21", Type="String")
    code, found, _ = doctor(capsys, "--powertools-layer", "managed", "--no-api-cloud-watch-role")
    assert code == 5
    assert found["cdk bootstrap"]["status"] == "ok"
    assert found["powertools layer"]["status"] == "fail"
    assert found["powertools layer"]["fix"] == "deploy with -c lipsync:powertools_layer=bundled"
    assert "/aws/service/powertools/python/x86_64/python3.13/" in found["powertools layer"]["detail"]
    assert found["api gateway logging role"]["fix"] == "deploy with -c lipsync:api_cloud_watch_role=true"
    account.client("ssm").put_parameter(Name=BOOTSTRAP_PARAMETER, Value="5", Type="String", Overwrite=True)
    assert doctor(capsys)[1]["cdk bootstrap"]["detail"] == "version 5, needs 6+"


def test_the_deployed_stacks_secret_is_judged_by_its_shape_never_shown(
    account: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # the stack creates its secret with a placeholder
    secrets = account.client("secretsmanager")
    arn = secrets.create_secret(Name="LipSync-credentials", SecretString='{"placeholder": true}')["ARN"]
    account.client("cloudformation").create_stack(StackName="LipSync", TemplateBody=stack_with_secret(arn))
    _, found, _ = doctor(capsys)
    assert found["volcengine secret"]["status"] == "fail"
    assert found["volcengine secret"]["detail"] == "missing access_key_id, secret_access_key"
    assert arn in found["volcengine secret"]["fix"]
    secret = '{"access_key_id": "AKLTsecretid", "secret_access_key": "very-secret-value"}'
    secrets.put_secret_value(SecretId=arn, SecretString=secret)
    _, found, printed = doctor(capsys)
    assert found["volcengine secret"] == {
        "check": "volcengine secret",
        "status": "ok",
        "detail": "holds an access key pair",
        "fix": found["volcengine secret"]["fix"],
    }
    assert "very-secret-value" not in printed
    assert "AKLTsecretid" not in printed


def test_lambda_concurrency_against_the_configured_limits() -> None:
    assert concurrency_finding(1000, 20).status == "ok"
    short = concurrency_finding(10, 20)  # a new account's concurrency
    assert short.status == "fail"
    assert "L-B99A9384" in short.fix


def test_step_functions_quotas_against_the_configured_rates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a region outside the three largest, where Service Quotas (moto: none for Step Functions)
    # has no value: the guide's defaults for it answer, and say so
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with mock_aws():
        _, found, _ = doctor(capsys)
        assert found["step functions starts"]["status"] == "ok"
        assert found["step functions starts"]["detail"] == (
            "StartExecution bucket 800 (documented default), a batch and the API's burst start up to 540"
        )
        assert found["step functions transitions"]["detail"] == (
            "StateTransition refill 800/s (documented default), "
            "the configured submit and poll rates need about 32/s"
        )
        # When the stack would poll at 200 requests per second per mode
        _, found, _ = doctor(capsys, "--poll-qps", "200")
    # Then the line warns, with its fix
    transitions = found["step functions transitions"]
    assert transitions["status"] == "warn"
    assert "need about 1,202/s" in transitions["detail"]
    assert (
        transitions["fix"] == "ask Service Quotas for a higher StateTransition refill rate, or lower poll_qps"
    )


def test_service_quotas_values_are_found_by_name_and_compared() -> None:
    page = {
        "Quotas": [
            {"QuotaName": "StartExecution throttle token bucket size", "QuotaCode": "L-1", "Value": 500.0},
            {"QuotaName": "Open executions", "QuotaCode": "L-2", "Value": 1e6},
        ]
    }
    found = step_functions.listed([page])
    assert found == {step_functions.START_BUCKET: step_functions.Quota(500.0, "AWS default", "L-1")}
    short = starts_finding(found[step_functions.START_BUCKET], step_functions.starts_needed())
    assert (short.status, short.fix) == (
        "warn",
        "ask Service Quotas for a larger StartExecution throttle token bucket, or send smaller batches",
    )
