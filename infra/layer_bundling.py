"""Builds the layers without Docker: ``pip install --target`` for the Lambda platform, then bytecode.

The alpha ``PythonLayerVersion`` bundles in a container, and there is no Docker daemon on our
build machines, so layer assets are produced by this local bundler (also used by ``make layer``).
Lambda's ``/opt`` is read-only, so a layer without bytecode compiles every module it imports at
every cold start: the bytecode is compiled here, by the runtime's own Python version, in
``unchecked-hash`` mode (source timestamps do not survive zipping and extraction; the files never
change once deployed).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

from .lambda_target import LambdaTarget
from .sources import CONSTRAINTS, LAYER_ROOT, MEDIA_LAYER_ROOT, POWERTOOLS_ROOT

LAMBDA_ROOT = "/opt/python"  # where Lambda extracts a layer's python/ folder: tracebacks name it


def build_layer(
    output_dir: Path,
    *,
    target: LambdaTarget | None = None,
    requirements: Path = LAYER_ROOT / "requirements.txt",
    package: Path | None = LAYER_ROOT / "python" / "lipsync_core",
    platforms: tuple[str, ...] | None = None,
) -> Path:
    """Install ``requirements`` for the target's platform, copy ``package`` beside them and compile.

    Returns the ``python/`` folder (what Lambda puts on ``sys.path``).
    """
    target = target or LambdaTarget()
    interpreter = target.interpreter()  # fail before the download when it is missing
    folder = output_dir / "python"
    folder.mkdir(parents=True, exist_ok=True)
    if listed(requirements):
        _install(requirements, folder, target, platforms or (target.pip_platform,))
    if package is not None:
        shutil.copytree(
            package,
            folder / package.name,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed arguments
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            LAMBDA_ROOT,
            str(folder),
        ],
        check=True,
    )
    return folder


def listed(requirements: Path) -> bool:
    """Whether ``requirements`` names any package (the signing layer's names none)."""
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return any(lines)


def _install(requirements: Path, folder: Path, target: LambdaTarget, platforms: tuple[str, ...]) -> None:
    """``pip install --target`` for the Lambda platform(s), without the installers' records."""
    platform_options = [option for platform in platforms for option in ("--platform", platform)]
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(folder),
            *platform_options,
            "--implementation",
            "cp",
            "--python-version",
            target.python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--no-deps",
            "-r",
            str(requirements),
            "-c",
            str(CONSTRAINTS),
        ],
        check=True,
    )
    for metadata in folder.glob("*.dist-info"):
        # Keep licences; drop installer records that only bloat the layer.
        for name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
            (metadata / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "bin", ignore_errors=True)  # console scripts are of no use in a layer


def build_powertools_layer(output_dir: Path, *, target: LambdaTarget | None = None) -> Path:
    """Our own Powertools layer, for where the managed one is not published."""
    return build_layer(
        output_dir, target=target, requirements=POWERTOOLS_ROOT / "requirements.txt", package=None
    )


def build_media_layer(output_dir: Path, *, target: LambdaTarget | None = None) -> Path:
    """PyAV with FFmpeg (a manylinux_2_28 wheel), for the functions that read or convert media."""
    target = target or LambdaTarget()
    return build_layer(
        output_dir,
        target=target,
        requirements=MEDIA_LAYER_ROOT / "requirements.txt",
        package=None,
        platforms=target.glibc_pip_platforms,
    )


LayerBuild = Callable[..., Path]  # (output_dir, *, target) -> the python/ folder


@jsii.implements(ILocalBundling)
class LocalLayerBundling:
    """CDK's hook: bundle on this machine instead of in a container."""

    def __init__(self, target: LambdaTarget, build: LayerBuild = build_layer) -> None:
        self.target = target
        self.build = build

    def try_bundle(self, output_dir: str, *, image: object = None, **_: object) -> bool:
        self.build(Path(output_dir), target=self.target)
        return True


def bundling_options(target: LambdaTarget, build: LayerBuild = build_layer) -> BundlingOptions:
    # The image is never pulled: local bundling always succeeds first.
    return BundlingOptions(
        image=DockerImage.from_registry(target.build_image),
        local=LocalLayerBundling(target, build),
    )
