"""The signing layer as Lambda sees it: built without Docker, used on its own (no site-packages)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.layer_bundling import build_layer
from tests.support.scripted_server import Reply, scripted_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(tmp_path_factory.mktemp("layer"))


def test_the_layer_holds_exactly_our_package_and_its_pinned_dependencies(layer: Path) -> None:
    packages = sorted(p.name for p in layer.iterdir() if p.is_dir() and not p.name.endswith(".dist-info"))
    assert packages == ["certifi", "idna", "lipsync_core", "requests", "urllib3"]
    assert not list(layer.rglob("__pycache__")), "bytecode for another Python would be dead weight"
    versions = sorted(p.name.removesuffix(".dist-info") for p in layer.glob("*.dist-info"))
    assert "requests-2.34.2" in versions


def test_the_layer_alone_signs_and_sends_a_request(layer: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(layer)!r})
from lipsync_core.volc import VolcClient
client = VolcClient("AKLTlayer", "layer-secret", endpoint=sys.argv[1])
print(client.submit_task("lite", "https://x.example/v.mp4", "https://x.example/a.wav").task_id)
print(sorted(m for m in ("charset_normalizer", "chardet") if m in sys.modules))
"""
    with scripted_server("layer-secret") as server:
        server.reply(Reply(body={"code": 10000, "message": "Success", "data": {"task_id": "77"}}))
        # -S: no site-packages, so only the standard library and the layer are importable.
        out = subprocess.run(
            [sys.executable, "-S", "-c", script, server.endpoint],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert server.received[0].signature_valid
    task_id, optional_modules = out.stdout.strip().splitlines()
    assert task_id == "77"
    assert json.loads(optional_modules.replace("'", '"')) == []
