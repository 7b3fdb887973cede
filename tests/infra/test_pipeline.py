"""The pipeline as a construct of someone else's app: several in one app and in one stack, with the
caller's bucket and bus, synthesize under cdk-nag without a physical name in common; and no function
escapes monitoring."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3

from infra.app_factory import cdk_json_context
from infra.config import StackConfig
from infra.function_factory import FunctionsSealedError
from infra.nag import add_checks
from infra.names import PipelineNames
from infra.pipeline import LipSyncPipeline, LipSyncPipelineProps
from infra.stack import LipSyncStack

# Resource type -> the property that holds its physical name.
PHYSICAL_NAMES = {
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
}


def app_context() -> dict[str, Any]:
    return {**cdk_json_context(), "aws:cdk:bundling-stacks": []}


def templates(outdir: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }


def physical_names(template: dict[str, Any]) -> list[tuple[str, str]]:
    """The names given (CloudFormation names the rest uniquely, such as the webhook key's secret)."""
    resources = template["Resources"].values()
    named = [(r["Type"], r["Properties"].get(PHYSICAL_NAMES.get(r["Type"], ""))) for r in resources]
    return [(kind, name) for kind, name in named if name]


def rules_on(template: dict[str, Any], bus_ref: dict[str, Any]) -> list[dict[str, Any]]:
    rules = template["Resources"].values()
    return [
        r["Properties"]
        for r in rules
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("EventBusName") == bus_ref
    ]


@pytest.mark.slow
def test_pipelines_in_two_stacks_and_two_in_one_stack_pass_cdk_nag_without_a_name_in_common(
    tmp_path: Path,
) -> None:
    # Given an app with the LipSync stack and a team's stack that embeds two pipelines, one of them on
    # the team's existing bucket and bus
    app = cdk.App(outdir=str(tmp_path), context=app_context())
    add_checks(app)  # synth fails on any finding nobody acknowledged
    LipSyncStack(app, "LipSync")
    team = cdk.Stack(app, "Team")
    team_bus = events.EventBus(team, "TeamBus", event_bus_name="team-events")
    LipSyncPipeline(team, "Dubbing", LipSyncPipelineProps(names=PipelineNames.from_prefix("dubbing")))
    LipSyncPipeline(
        team,
        "Captions",
        LipSyncPipelineProps(
            names=PipelineNames.from_prefix("captions"),
            bucket=s3.Bucket.from_bucket_name(team, "Existing", "team-media"),
            bus=team_bus,
            config=StackConfig(
                event_source="team.captions",
                request_sources="team.app",
                submit_qps=2,
                job_deadline_seconds=3600,
            ),
        ),
    )

    # When it is synthesized
    app.synth()

    # Then no physical name is used twice in the app, and every pipeline's alarms are its own
    synthesized = templates(tmp_path)
    assert set(synthesized) == {"LipSync", "Team"}
    names = [name for template in synthesized.values() for name in physical_names(template)]
    assert [name for name, count in Counter(names).items() if count > 1] == []
    alarms = [name for kind, name in names if kind == "AWS::CloudWatch::Alarm"]
    assert {name.split("-")[0] for name in alarms} == {"LipSync", "dubbing", "captions"}
    assert ("AWS::Events::EventBus", "dubbing") in names
    assert not [name for kind, name in names if kind == "AWS::SecretsManager::Secret"]  # retained: unnamed
    assert ("AWS::ApiGateway::RestApi", "captions-api") in names
    assert ("AWS::Events::Archive", "captions-requests") in names
    # The captions pipeline made no bucket and no bus: the team's are used, and its rules on the shared
    # bus only take its own events and requests.
    team = synthesized["Team"]["Resources"]
    [team_bus_id] = [k for k, r in team.items() if r["Type"] == "AWS::Events::EventBus" and "TeamBus" in k]
    assert not [k for k in team if k.startswith("CaptionsStorageMedia") or k.startswith("CaptionsEvents")]
    on_team_bus = rules_on(synthesized["Team"], {"Ref": team_bus_id})
    assert len(on_team_bus) == 3  # requests, webhooks, batch progress
    sources = [rule["EventPattern"]["source"] for rule in on_team_bus]
    assert sorted(sources) == [["team.app"], ["team.captions"], ["team.captions"]]


def test_no_function_can_be_built_after_monitoring_read_them() -> None:
    app = cdk.App(context=app_context())
    pipeline = LipSyncPipeline(cdk.Stack(app, "Team"), "Dubbing")
    with pytest.raises(FunctionsSealedError, match="after monitoring read"):
        pipeline.factory.build(pipeline, "late_addition", timeout=3)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("", "pipeline name"), ("a/b", "pipeline name"), ("x" * 40, "pipeline name")],
)
def test_a_name_no_derived_name_could_carry_is_refused(prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PipelineNames.from_prefix(prefix)
