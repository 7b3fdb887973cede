"""What the functions run on, in one place: the Python version, the architecture and Powertools.

Everything that depends on them (the CDK runtime and architecture, the pip platform and Python
version the layers are bundled for, the interpreter that compiles their bytecode, the Powertools
layer's SSM parameter) is derived here, so a switch to arm64 or another Python changes all of them.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

from .sources import RUNTIME_REQUIREMENTS

# Lambda runtimes in standard support on 2026-11 (python3.11 was deprecated on 2026-06-30).
SUPPORTED_PYTHONS = ("3.12", "3.13", "3.14")
DEFAULT_PYTHON = "3.13"  # the newest one whose interpreter our build machines have (see architecture.md)
PIP_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
CDK_ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
POWERTOOLS_SOURCES = ("managed", "bundled")


def powertools_version() -> str:
    """The one pin of Powertools: ``requirements/runtime.txt``, which the local runtime installs."""
    text = RUNTIME_REQUIREMENTS.read_text()
    match = re.search(r"^aws-lambda-powertools(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"{RUNTIME_REQUIREMENTS} pins no aws-lambda-powertools version")
    return match.group(1)


class InterpreterNotFoundError(RuntimeError):
    pass


@dataclass(frozen=True)
class LambdaTarget:
    python_version: str = DEFAULT_PYTHON
    architecture: str = "x86_64"
    # "managed": the layer Powertools publishes (found through its public SSM parameter);
    # "bundled": our own layer, for regions and partitions Powertools does not publish to.
    powertools: str = "bundled"

    def __post_init__(self) -> None:
        if self.python_version not in SUPPORTED_PYTHONS:
            raise ValueError(f"python_version must be one of {', '.join(SUPPORTED_PYTHONS)}")
        if self.architecture not in PIP_PLATFORMS:
            raise ValueError(f"architecture must be one of {', '.join(PIP_PLATFORMS)}")
        if self.powertools not in POWERTOOLS_SOURCES:
            raise ValueError(f"powertools_layer must be one of {', '.join(POWERTOOLS_SOURCES)}")

    @property
    def runtime_name(self) -> str:
        return f"python{self.python_version}"

    @property
    def runtime(self) -> lambda_.Runtime:
        runtime: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + self.python_version.replace(".", "_"))
        return runtime

    @property
    def cdk_architecture(self) -> lambda_.Architecture:
        return CDK_ARCHITECTURES[self.architecture]

    @property
    def pip_platform(self) -> str:
        return PIP_PLATFORMS[self.architecture]

    @property
    def glibc_pip_platforms(self) -> tuple[str, ...]:
        """Platforms whose wheels run here: the python3.12+ runtimes are Amazon Linux 2023 (glibc 2.34),
        so manylinux_2_28 wheels (PyAV's, with FFmpeg) run too, besides manylinux2014."""
        machine = self.pip_platform.removeprefix("manylinux2014_")
        return (f"manylinux_2_28_{machine}", self.pip_platform)

    @property
    def build_image(self) -> str:
        return f"public.ecr.aws/sam/build-{self.runtime_name}"

    @property
    def powertools_version(self) -> str:
        return powertools_version()

    @property
    def powertools_parameter(self) -> str:
        """Powertools publishes each layer version's ARN as a public SSM parameter."""
        return (
            f"/aws/service/powertools/python/{self.architecture}/{self.runtime_name}/"
            f"{self.powertools_version}"
        )

    def interpreter(self) -> str:
        return find_interpreter(self.python_version)


@functools.cache
def find_interpreter(version: str) -> str:
    """A CPython ``version`` on this machine: it compiles the layers' bytecode, which only the same
    minor version can load. ``LIPSYNC_LAMBDA_PYTHON`` names one explicitly; otherwise ``pythonX.Y`` on
    PATH, then pyenv's installed versions (its shims answer only for the selected version)."""
    candidates = [os.environ.get("LIPSYNC_LAMBDA_PYTHON", ""), shutil.which(f"python{version}") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - a Python interpreter, fixed code
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise InterpreterNotFoundError(
        f"the layers are compiled for the Lambda runtime python{version}, and no Python {version} was "
        f"found: install it (pyenv install {version}, or your system's python{version} package) or set "
        "LIPSYNC_LAMBDA_PYTHON to its path"
    )
