"""The stack synthesized once (with cdk-nag) for every infra test in a worker: the tests that read it
share one xdist group, so `make test` synthesizes it once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app_factory import build_app
from infra.stack import LipSyncStack

Synthesized = tuple[Template, dict[str, Any], Path, LipSyncStack]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # With cdk-nag: synth raises ValidationFailed on any finding not acknowledged with a reason.
    app, stack = build_app(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []}, nag=True)
    app.synth()
    template = Template.from_stack(stack)
    return template, dict(template.to_json()), outdir / "LipSync.template.json", stack


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized[0]


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> dict[str, Any]:
    return dict(synthesized[1]["Resources"])


@pytest.fixture(scope="session")
def definition(resources: dict[str, Any]) -> dict[str, Any]:
    [machine] = [r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "arn:placeholder" for p in parts)
    return dict(json.loads(text))
