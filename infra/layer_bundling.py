"""Builds the signing layer without Docker: ``pip install --target`` for the Lambda platform.

The alpha ``PythonLayerVersion`` bundles in a container, and there is no Docker daemon on our
build machines, so the layer asset is produced by this local bundler (also used by ``make layer``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, ILocalBundling

LAYER_ROOT = Path(__file__).resolve().parent.parent / "layers" / "lipsync"
CONSTRAINTS = LAYER_ROOT.parent.parent / "requirements" / "constraints.txt"  # pins transitive deps
LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


def build_layer(
    output_dir: Path, *, architecture: str = "x86_64", python_version: str = LAMBDA_PYTHON_VERSION
) -> Path:
    """Install the layer's pinned requirements for Lambda's platform and copy our package beside them.

    Returns the ``python/`` folder (what Lambda puts on ``sys.path``).
    """
    target = output_dir / "python"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--platform",
            LAMBDA_PLATFORMS[architecture],
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--no-deps",
            "-r",
            str(LAYER_ROOT / "requirements.txt"),
            "-c",
            str(CONSTRAINTS),
        ],
        check=True,
    )
    for metadata in target.glob("*.dist-info"):
        # Keep licences; drop installer records that only bloat the layer.
        for name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            (metadata / name).unlink(missing_ok=True)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts are of no use in a layer
    package = LAYER_ROOT / "python" / "lipsync_core"
    shutil.copytree(
        package,
        target / "lipsync_core",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return target


@jsii.implements(ILocalBundling)
class LocalLayerBundling:
    """CDK's hook: bundle on this machine instead of in a container."""

    def __init__(self, architecture: str = "x86_64") -> None:
        self.architecture = architecture

    def try_bundle(self, output_dir: str, *, image: object = None, **_: object) -> bool:
        build_layer(Path(output_dir), architecture=self.architecture)
        return True


def bundling_options(architecture: str = "x86_64") -> BundlingOptions:
    from aws_cdk import DockerImage

    # The image is never pulled: local bundling always succeeds first.
    return BundlingOptions(
        image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{LAMBDA_PYTHON_VERSION}"),
        local=LocalLayerBundling(architecture),
    )
