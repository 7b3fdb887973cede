"""One source for what the functions run on: runtime, architecture, Powertools and its layer, and
what the layers are bundled for, synthesized for both architectures; and the order of the layers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app_factory import build_app, cdk_json_context
from infra.config import StackConfig
from infra.lambda_target import powertools_version
from infra.sources import CONSTRAINTS, POWERTOOLS_ROOT
from lipsync_core.jobs.domain.poll_policy import PollPolicy

ROOT = Path(__file__).resolve().parents[2]


def synthesize(tmp_path: Path, **context: Any) -> tuple[dict[str, Any], Any]:
    _, stack = build_app(
        outdir=str(tmp_path),
        nag=False,
        context={"aws:cdk:bundling-stacks": [], **{f"lipsync:{k}": v for k, v in context.items()}},
    )
    return dict(Template.from_stack(stack).to_json()), stack


def layers_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = template["Resources"].items()
    return {k: r["Properties"] for k, r in resources if r["Type"] == "AWS::Lambda::LayerVersion"}


def media_layer_id(layers: dict[str, dict[str, Any]]) -> str:
    [media] = [k for k, p in layers.items() if "PyAV" in p["Description"]]
    return media


def expected_layers(function: dict[str, Any], first: str, signing: str, media: str) -> list[dict[str, str]]:
    """Powertools first, the signing layer last; the media functions' own layer between them."""
    own = (
        [{"Ref": media}]
        if function["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME")
        in ("lipsync-prepare", "lipsync-join-segments")
        else []
    )
    return [{"Ref": first}, *own, {"Ref": signing}]


def is_powertools(parameter: dict[str, Any]) -> bool:
    return str(parameter.get("Default", "")).startswith("/aws/service/powertools/")


def our_functions(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline's functions (CDK's own helpers carry no layers and pick their own runtime)."""
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Layers" in r["Properties"]
    ]


def pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1).lower())] = match.group(2)
    return pins


@pytest.mark.parametrize(("architecture", "platform"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_every_runtime_string_derives_from_one_target(
    tmp_path: Path, architecture: str, platform: str
) -> None:
    template, stack = synthesize(tmp_path, architecture=architecture, powertools_layer="managed")
    target = stack.config.lambda_target
    assert (target.architecture, target.python_version) == (architecture, "3.13")
    functions = our_functions(template)
    assert len(functions) >= 5
    assert {f["Runtime"] for f in functions} == {target.runtime_name} == {"python3.13"}
    assert {tuple(f["Architectures"]) for f in functions} == {(architecture,)}
    layers = layers_of(template)
    assert len(layers) == 2  # the signing layer and the media layer
    for layer in layers.values():
        assert layer["CompatibleRuntimes"] == ["python3.13"]
        assert layer["CompatibleArchitectures"] == [architecture]
    [parameter] = [p["Default"] for p in template["Parameters"].values() if is_powertools(p)]
    assert parameter == f"/aws/service/powertools/python/{architecture}/python3.13/{powertools_version()}"
    # What the layer is bundled for: the same target, so the same platform and Python.
    [signing] = [n for n in stack.node.find_all() if n.node.id == "SigningLayer"]
    assert signing.target == target
    assert target.pip_platform.endswith(platform)
    assert all(p.endswith(platform) for p in target.glibc_pip_platforms)
    assert target.build_image.endswith("build-python3.13")


def test_the_powertools_version_is_pinned_once_and_agrees_everywhere() -> None:
    runtime, constraints = pinned(ROOT / "requirements" / "runtime.txt"), pinned(CONSTRAINTS)
    assert runtime["aws-lambda-powertools"] == constraints["aws-lambda-powertools"] == powertools_version()
    # Our own Powertools layer takes every version from the constraints, like the local runtime.
    names = [
        line.strip()
        for line in (POWERTOOLS_ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert names
    assert all(re.sub(r"[-_.]+", "-", n.lower()) in constraints for n in names)


def test_the_signing_layer_comes_last_so_its_files_win(tmp_path: Path) -> None:
    template, _ = synthesize(tmp_path, powertools_layer="managed")
    layers = layers_of(template)
    media = media_layer_id(layers)
    [layer_id] = [k for k in layers if k != media]
    [parameter_id] = [k for k, p in template["Parameters"].items() if is_powertools(p)]
    for function in our_functions(template):
        assert function["Layers"] == expected_layers(function, parameter_id, layer_id, media)


def test_by_default_our_own_powertools_layer_is_bundled_so_any_region_deploys(tmp_path: Path) -> None:
    # The managed layer's SSM parameter exists only where Powertools publishes it: a deploy-time lookup.
    template, _ = synthesize(tmp_path, architecture="arm64")
    assert not [p for p in template.get("Parameters", {}).values() if is_powertools(p)]
    layers = layers_of(template)
    [powertools_id] = [k for k, p in layers.items() if "Powertools" in p["Description"]]
    media = media_layer_id(layers)
    [signing_id] = [k for k in layers if k not in (powertools_id, media)]
    assert powertools_version() in layers[powertools_id]["Description"]
    assert layers[powertools_id]["CompatibleArchitectures"] == ["arm64"]
    for function in our_functions(template):
        assert function["Layers"] == expected_layers(function, powertools_id, signing_id, media)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("python_version", "3.11", "python_version must be one of"),
        ("architecture", "sparc", "architecture must be one of"),
        ("powertools_layer", "maybe", "powertools_layer must be one of"),
    ],
)
def test_an_unknown_target_is_refused_with_a_clear_message(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        synthesize(tmp_path, **{key: value})


def test_the_poll_policy_defaults_agree_with_the_deployed_configuration() -> None:
    policy, config = PollPolicy(), StackConfig()
    deployed = cdk_json_context()
    assert (config.poll_first_seconds, config.poll_growth, config.poll_max_seconds) == (
        policy.first_seconds,
        policy.growth,
        policy.max_seconds,
    )
    assert deployed["lipsync:poll_first_seconds"] == policy.first_seconds
    assert deployed["lipsync:poll_growth"] == policy.growth
    assert deployed["lipsync:poll_max_seconds"] == policy.max_seconds
