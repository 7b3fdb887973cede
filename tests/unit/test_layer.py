"""The layers as Lambda sees them: built without Docker, zipped and extracted, used with only what the
Lambda runtime brings beside them (botocore and its urllib3, no site-packages) by the runtime's Python
version, which finds every module of the layer already compiled."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import botocore
import pytest

from infra.lambda_target import LambdaTarget
from infra.layer_bundling import build_layer, build_media_layer, build_powertools_layer
from infra.sources import FUNCTIONS_ROOT
from lipsync.media.samples import make_talking_head
from tests.support.scripted_server import Reply, scripted_server

pytestmark = pytest.mark.slow


TARGET = LambdaTarget()
# Counts the modules the interpreter compiles from source under the layer (none: all are compiled).
COMPILED_HERE = """
import importlib._bootstrap_external as external, sys
compiled = []
original = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    if path.startswith(sys.path[0]):
        compiled.append(path)
    return original(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
"""


def as_shipped(folder: Path, destination: Path) -> Path:
    """Zip the layer as CDK uploads it and extract it as Lambda does (files keep no source mtimes)."""
    archive = shutil.make_archive(str(destination / "layer"), "zip", folder.parent)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(destination / "opt")
    return destination / "opt" / "python"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_layer(tmp_path_factory.mktemp("layer"), target=TARGET)
    return as_shipped(built, tmp_path_factory.mktemp("shipped"))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Lambda Python runtime has besides the standard library: boto3, botocore and the
    packages botocore needs (urllib3, dateutil, jmespath, six), from this environment."""
    folder = tmp_path_factory.mktemp("runtime")
    site = Path(botocore.__file__).parent.parent
    for name in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six.py"):
        (folder / name).symlink_to(site / name)
    return folder


def test_the_layer_holds_only_our_package(layer: Path) -> None:
    # the runtime brings botocore and urllib3; requests, idna and certifi are no longer shipped
    packages = sorted(p.name for p in layer.iterdir() if not p.name.endswith(".dist-info"))
    assert packages == ["lipsync_core"]
    tag = f"cpython-{TARGET.python_version.replace('.', '')}"
    sources = list(layer.rglob("*.py"))
    compiled = {p.name for p in layer.rglob("*.pyc")}
    assert sources
    assert all(f"{p.stem}.{tag}.pyc" in compiled for p in sources), "every module compiled"
    assert all(f".{tag}." in name for name in compiled), "no bytecode for another Python"
    # unchecked-hash: the header's flags say "hash-based, do not check the source" (PEP 552).
    header = next(layer.rglob("*.pyc")).read_bytes()[4:8]
    assert int.from_bytes(header, "little") == 1


def test_the_layer_with_the_runtime_signs_and_sends_without_compiling_anything(
    layer: Path, runtime: Path
) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(layer)!r})
{COMPILED_HERE}
sys.path.append({str(runtime)!r})
from lipsync_core.volc import VolcClient
client = VolcClient("AKLTlayer", "layer-secret", endpoint=sys.argv[1])
print(client.submit_task("lite", "https://x.example/v.mp4", "https://x.example/a.wav").task_id)
print(sorted(m for m in ("requests", "certifi", "idna", "charset_normalizer") if m in sys.modules))
print(len(compiled))
"""
    with scripted_server("layer-secret") as server:
        server.reply(Reply(body={"code": 10000, "message": "Success", "data": {"task_id": "77"}}))
        # -S: no site-packages, so only the standard library and the layer are importable.
        out = subprocess.run(
            [TARGET.interpreter(), "-S", "-c", script, server.endpoint],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert server.received[0].signature_valid
    task_id, optional_modules, compiled = out.stdout.strip().splitlines()
    assert task_id == "77"
    assert json.loads(optional_modules.replace("'", '"')) == []
    assert compiled == "0"


def test_our_own_powertools_layer_for_arm64_holds_arm64_code_compiled_for_the_runtime(
    tmp_path: Path,
) -> None:
    target = LambdaTarget(architecture="arm64", powertools="bundled")
    layer = as_shipped(build_powertools_layer(tmp_path / "build", target=target), tmp_path)
    [core] = layer.glob("pydantic_core/_pydantic_core.*.so")
    assert "aarch64" in core.name
    assert "cpython-313" in core.name
    assert not list(layer.glob("botocore")), "the runtime has botocore"
    # What the Lambda runtime brings (botocore, jmespath) comes from here, after the layer.
    runtime = Path(botocore.__file__).parent.parent
    script = f"import sys; sys.path.insert(0, {str(layer)!r}); {COMPILED_HERE}\n"
    script += f"sys.path.append({str(runtime)!r})\n"
    script += "import aws_lambda_powertools.logging, aws_xray_sdk.core; print(len(compiled))"
    # arm64 machine code cannot load here, but the pure-Python modules import from bytecode.
    out = subprocess.run(
        [target.interpreter(), "-S", "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "0"


# Lambda's quota on a function and its layers, unzipped (the API's own figure for "250 MB").
LAMBDA_UNZIPPED_BYTES = 262_144_000


@pytest.fixture(scope="module")
def media_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_media_layer(tmp_path_factory.mktemp("media-layer"), target=TARGET)
    return as_shipped(built, tmp_path_factory.mktemp("media-shipped"))


def unzipped_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_the_media_layer_alone_probes_and_converts_with_the_runtimes_python(
    media_layer: Path, layer: Path, tmp_path: Path
) -> None:
    video = make_talking_head(tmp_path / "face.mp4", seconds=0.5, fps=50, width=64, height=48)
    script = f"""import sys; sys.path[:0] = [{str(media_layer)!r}, {str(layer)!r}]
{COMPILED_HERE}
from fractions import Fraction
from pathlib import Path
from lipsync_core.media.normalise import normalise_video
from lipsync_core.media.probe import probe
from lipsync_core.media.rules import VideoPlan
copy = Path({str(tmp_path / "copy.mp4")!r})
normalise_video(Path({str(video)!r}), copy, VideoPlan(64, 48, Fraction(25)))
with copy.open("rb") as file:
    info = probe(file, size=copy.stat().st_size, name="the copy")
print(info.video.codec, info.video.fps, len(compiled))"""
    out = subprocess.run(
        [TARGET.interpreter(), "-S", "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["h264", "25.0", "0"]
    assert not list(media_layer.glob("numpy*")), "the media layer needs no numpy"


def test_prepare_and_its_layers_fit_lambdas_unzipped_limit(
    media_layer: Path, layer: Path, tmp_path: Path
) -> None:
    # Powertools as our own layer holds what the managed one does (Powertools, the X-Ray SDK, pydantic).
    target = LambdaTarget(powertools="bundled")
    powertools = as_shipped(build_powertools_layer(tmp_path / "build", target=target), tmp_path)
    parts = {
        "media": media_layer,
        "signing": layer,
        "powertools": powertools,
        "handler": FUNCTIONS_ROOT / "prepare",
    }
    sizes = {name: unzipped_bytes(folder) for name, folder in parts.items()}
    assert sizes["media"] > 50_000_000, sizes  # FFmpeg's libraries are in it
    assert sum(sizes.values()) < LAMBDA_UNZIPPED_BYTES * 0.8, sizes  # room for FFmpeg to grow
