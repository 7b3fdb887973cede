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
from lipsync.doctor.checks import BOOTSTRAP_PARAMETER, concurrency_finding


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
        "ok   volcengine secret",
        lines[6].split(":")[0],  # depends on this machine's Pythons
    ]
    assert "(fix: node_modules/.bin/cdk bootstrap" in lines[1]
    assert "the stack sets one" in lines[2]
    assert "LipSync is not deployed yet" in lines[5]


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
