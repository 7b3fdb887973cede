"""The package as a user gets it: a wheel built from the tree, installed (not editable) into a fresh
virtual environment, run from outside the repository.

The wheel is built once per worker (a few seconds) from a copy of the files git would commit, so nothing
lying around in the checkout can make it pass. Installs reuse this venv's pip (no ``ensurepip``) and skip
bytecode compilation: the tests pay for what they check, not for set-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
# Source folder -> where its Python files sit in the wheel.
INSTALLED_AS = {
    "src": "",
    "layers/lipsync/python": "",
    "infra": "lipsync_infra",
    "functions": "lipsync_infra/functions",
}


def run(
    *command: str | Path, cwd: Path, timeout: float, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, (
            f"{command}: {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    files = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT, timeout=60)
    for name in filter(None, files.stdout.split("\0")):
        if (ROOT / name).is_file():  # a file deleted but not yet staged is still listed
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = (sys.executable, "-m", "pip")
    run(
        *pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", dist, tree, cwd=tree, timeout=300
    )
    [built] = dist.glob("lipsync_pipeline-*.whl")
    return built


def fresh_venv(where: Path, requirement: str) -> Path:
    """A virtual environment holding ``requirement`` and what it declares, and nothing else."""
    run(sys.executable, "-m", "venv", "--without-pip", where, cwd=where.parent, timeout=120)
    python = where / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-compile",
        requirement,
        cwd=where.parent,
        timeout=900,
    )
    return where / "bin"


def outside_the_repository(home: Path) -> dict[str, str]:
    """The user's environment, with nothing pointing back at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "XDG_CACHE_HOME": str(home / "cache"), "HOME": str(home)}


def test_every_package_of_the_tree_is_in_the_wheel_and_no_generic_top_level_name(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, installed in INSTALLED_AS.items():
        sources = [path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts]
        expected = {Path(installed, source.relative_to(ROOT / folder)).as_posix() for source in sources}
        assert expected, folder
        assert sorted(expected - names) == [], f"left out of the wheel, from {folder}/"
    # What the constructs build from, without the repository.
    for shipped in ("cdk.json", "layers/lipsync/requirements.txt", "requirements/constraints.txt"):
        assert f"lipsync_infra/{shipped}" in names
    top_level = {name.split("/")[0] for name in names} - {
        name.split("/")[0] for name in names if ".dist-info/" in name
    }
    assert top_level == {
        "lipsync",
        "lipsync_client",
        "lipsync_core",
        "lipsync_infra",
    }  # never infra or functions


def test_the_base_install_gives_the_client_and_the_cli_for_deployed_stacks(
    wheel: Path, tmp_path: Path
) -> None:
    # Given the wheel installed with only its base dependencies
    bin_ = fresh_venv(tmp_path / "venv", str(wheel))
    env, cwd = outside_the_repository(tmp_path), tmp_path

    # Then the command and the client work
    assert run(bin_ / "lipsync", "--version", cwd=cwd, env=env, timeout=60).stdout.startswith("lipsync ")
    assert "JOB_ID" in run(bin_ / "lipsync", "status", "--help", cwd=cwd, env=env, timeout=60).stdout
    run(bin_ / "python", "-c", "import lipsync_client", cwd=cwd, env=env, timeout=60)
    # and a command against a stack gets as far as the network (its imports are all installed)
    refused = run(
        bin_ / "lipsync",
        "status",
        "job-1",
        "--endpoint",
        "http://127.0.0.1:9",
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1, refused.stderr  # one sentence, no traceback
    assert "unexpected" not in refused.stderr  # not a missing module
    # and so does a submission of local files (checked by the request model; decoding them needs PyAV)
    (tmp_path / "face.mp4").write_bytes(b"not decoded without the media extra")
    (tmp_path / "voice.wav").write_bytes(b"not decoded without the media extra")
    submit = ("submit", "face.mp4", "voice.wav", "--endpoint", "http://127.0.0.1:9")
    unreachable = run(bin_ / "lipsync", *submit, cwd=cwd, env=env, timeout=60, check=False)
    assert unreachable.returncode == 3, unreachable.stderr  # the endpoint, not a crash (70)
    assert unreachable.stderr.count("\n") == 1, unreachable.stderr
    # and the heavy parts stay out of the base install
    heavy = ("aws_cdk", "moto", "av", "aws_lambda_powertools", "infra", "functions")
    probe = f"import importlib.util as u; print([m for m in {heavy} if u.find_spec(m)])"
    assert run(bin_ / "python", "-c", probe, cwd=cwd, env=env, timeout=60).stdout.strip() == "[]"


def test_the_local_extra_runs_the_demo_without_the_repository(wheel: Path, tmp_path: Path) -> None:
    # Given the wheel installed with [local]
    bin_ = fresh_venv(tmp_path / "venv", f"{wheel}[local]")
    env, cwd = outside_the_repository(tmp_path), tmp_path
    where = "import lipsync_infra.sources as s; print(s.INSTALLED, s.ROOT)"
    installed, root = run(bin_ / "python", "-c", where, cwd=cwd, env=env, timeout=60).stdout.split()
    assert installed == "True"
    assert Path(root).is_relative_to(tmp_path / "venv")

    # When the demo runs
    answer = json.loads(run(bin_ / "lipsync", "demo", "--json", cwd=cwd, env=env, timeout=600).stdout)

    # Then the job succeeded, its result is here, and the synthesized template went to the user's cache
    assert answer["job"]["status"] == "SUCCEEDED"
    result = cwd / answer["output"]
    assert result.stat().st_size == answer["job"]["output"]["size_bytes"] > 0
    assert list((tmp_path / "cache" / "lipsync" / "local-cdk.out").glob("*/LipSync.template.json"))
