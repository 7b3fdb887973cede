"""``cdk synth`` through the npm CLI, as a user deploys: the layer bundled without Docker."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_npm_cli_synthesizes_the_stack_and_bundles_the_layer(tmp_path: Path) -> None:
    cli = ROOT / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), "make setup installs the CDK CLI from package-lock.json"
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        # The managed Powertools layer: our own (the default) is built and checked in test_layer.py.
        [str(cli), "synth", "--quiet", "--output", str(tmp_path), "-c", "lipsync:powertools_layer=managed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "LipSync.template.json").read_text())
    layers = {
        r["Properties"]["Description"]: tmp_path / r["Metadata"]["aws:asset:path"] / "python"
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    }
    [signing] = [path for description, path in layers.items() if "lipsync_core" in description]
    [media] = [path for description, path in layers.items() if "PyAV" in description]
    assert packages(signing) == ["certifi", "idna", "lipsync_core", "requests", "urllib3"]
    assert packages(media) == ["av", "av.libs"]  # PyAV and the FFmpeg libraries its wheel carries


def packages(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and "dist-info" not in p.name)
