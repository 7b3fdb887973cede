"""The pure parts of `make smoke` (it deploys to a real account, so it never runs in the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import smoke
from tools.aws_prices import FIXED_MONTHLY, LAMBDA_GB_SECOND_USD, STATE_TRANSITION_USD, Usage
from tools.smoke_costs import describe, estimate_usd, parse_outputs, parse_report, with_reports

OUTPUTS = {
    "LipSyncSmoke1": {
        "BucketName": "b",
        "EventBusName": "lipsync-smoke-1",
        "JobTableName": "t",
        "StateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:m",
        "SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s",
        "ApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/v1/",
        "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:a",
    }
}


def test_the_outputs_file_is_read_for_the_smoke_stack() -> None:
    outputs = parse_outputs(json.dumps(OUTPUTS), "LipSyncSmoke1")
    assert outputs.bus == "lipsync-smoke-1"
    assert outputs.api_url == "https://abc.execute-api.eu-west-1.amazonaws.com/v1", "no trailing slash"
    with pytest.raises(ValueError, match="no stack Other"):
        parse_outputs(json.dumps(OUTPUTS), "Other")
    partial = {"LipSyncSmoke1": {k: v for k, v in OUTPUTS["LipSyncSmoke1"].items() if k != "ApiUrl"}}
    with pytest.raises(ValueError, match="ApiUrl"):
        parse_outputs(json.dumps(partial), "LipSyncSmoke1")


def test_lambda_report_lines_give_billed_time_and_memory() -> None:
    line = (
        "REPORT RequestId: 3f5c\tDuration: 812.33 ms\tBilled Duration: 813 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 98 MB\tInit Duration: 455.10 ms"
    )
    assert parse_report(line) == (813, 256)
    assert parse_report("START RequestId: 3f5c Version: $LATEST") is None


def test_the_estimate_adds_up_from_transitions_and_gb_seconds() -> None:
    usage = with_reports(Usage(transitions=40, api_requests=4, events_put=8), [(1000, 1024), (500, 2048)])
    assert usage.lambda_requests == 2
    assert usage.lambda_gb_seconds == pytest.approx(2.0)
    costs = estimate_usd(usage)
    assert costs["step functions transitions"] == pytest.approx(40 * STATE_TRANSITION_USD)
    assert costs["lambda compute"] == pytest.approx(2.0 * LAMBDA_GB_SECOND_USD)
    assert costs["total"] == pytest.approx(sum(v for k, v in costs.items() if k != "total"))
    assert "state transitions: 40" in describe(usage)
    # DynamoDB, S3, logs and X-Ray are priced too, and the fixed monthly charges are listed apart
    assert {"dynamodb writes", "s3 put requests", "log ingestion", "x-ray traces"} <= set(costs)
    assert f"alarms ${FIXED_MONTHLY['alarms']:.2f}" in describe(usage)


def test_without_a_region_it_stops_before_touching_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert smoke.main([]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "No AWS region is configured: set AWS_REGION or a profile's region."
    )
