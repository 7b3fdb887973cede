"""Cold start of the signing layer as shipped, beside the official ``volcengine`` SDK.

The layer is built as ``cdk synth`` builds it, zipped, extracted into a read-only folder (as Lambda
does into /opt) and imported from there by the runtime's Python version; the SDK is installed from
PyPI into a scratch folder by the same interpreter. Each figure is the CPU time (user and system) of
the import in a fresh interpreter (``-S``: only the standard library and the folder are importable),
the lowest of several runs: on a shared machine, wall time mostly measures the other processes.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import boto3

from benchmarks.report import Row, install_sdk
from infra.lambda_target import LambdaTarget
from infra.layer_bundling import build_layer

RUNS = 11
# Standard-library modules the Lambda Python runtime has already imported before it loads a
# handler (its bootstrap uses them): importing them again costs a function nothing.
RUNTIME_PRELOADED = "import json, logging, hashlib, hmac, datetime, typing, urllib.parse, enum, dataclasses"
# What every one of our functions has imported before its first Volcengine call: boto3's clients (and
# so botocore's HTTP session and urllib3), which the layer's client sends over.
FUNCTION_PRELOADED = RUNTIME_PRELOADED + "; import boto3, botocore.httpsession, urllib3"
OURS = "import lipsync_core.volc as v; v.VolcClient('a', 'b').http"
SDK = "from volcengine.visual.VisualService import VisualService"


def ship(folder: Path, destination: Path, *, bytecode: bool = True) -> Path:
    """Zip ``folder``'s layer and extract it read-only, as Lambda does."""
    archive = shutil.make_archive(str(destination) + "-layer", "zip", folder.parent)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(destination)
    python = destination / "python"
    if not bytecode:  # the layer as it shipped before: sources only
        for cache in list(python.rglob("__pycache__")):
            shutil.rmtree(cache)
    for path in [python, *python.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    return python


def writable_again(folder: Path) -> None:
    """So the scratch folder can be removed by a user who is not root."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(path.stat().st_mode | 0o200)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def import_ms(python: str, path: Path, statement: str, preamble: str = "pass") -> float:
    """CPU ms of ``statement`` with ``path`` first on sys.path and the Lambda runtime's packages
    (boto3, botocore, urllib3: this environment's) last, after ``preamble``."""
    runtime = Path(boto3.__file__).parent.parent
    code = (
        f"import sys, time; sys.path.insert(0, sys.argv[1]); sys.path.append({str(runtime)!r}); "
        f"{preamble}; t = time.process_time(); {statement}; print((time.process_time() - t) * 1000)"
    )
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed code
            [python, "-S", "-c", code, str(path)], check=True, capture_output=True, text=True
        )
        samples.append(float(out.stdout.strip()))
    return min(samples)


def main(tmp: Path) -> list[Row]:
    target = LambdaTarget()
    python = target.interpreter()
    built = build_layer(tmp / "build", target=target)
    shipped = ship(built, tmp / "opt")
    before = ship(built, tmp / "opt-sources", bytecode=False)
    sdk = install_sdk(python, tmp / "sdk")
    for folder in (shipped, before, sdk):
        import_ms(python, folder, "pass")  # warm the page cache
    print(
        f"cold start: layer {folder_size(shipped) / 1e6:.2f} MB as shipped (bytecode for "
        f"{target.runtime_name}), SDK {folder_size(sdk) / 1e6:.2f} MB"
    )
    rows = []
    for label, preamble in (
        ("", "pass"),
        (", Lambda's stdlib preloaded", RUNTIME_PRELOADED),
        (", as a function starts (stdlib and boto3 loaded)", FUNCTION_PRELOADED),
    ):
        theirs = import_ms(python, sdk, SDK, preamble)
        # The goal is for a function's start: every one has imported boto3 (and so botocore's HTTP
        # session and urllib3) before its first Volcengine call; bare, ours would import them itself.
        goal = preamble == FUNCTION_PRELOADED
        rows.append(
            Row(
                f"cold import + first session (CPU), layer as shipped{label}",
                import_ms(python, shipped, OURS, preamble),
                theirs,
                "ms",
                "<= 0.5x SDK" if goal else "-",
                (lambda ours, base: base is not None and ours <= 0.5 * base) if goal else None,
            )
        )
        rows.append(
            Row(
                f"  same, layer without bytecode (before){label}",
                import_ms(python, before, OURS, preamble),
                theirs,
                "ms",
            )
        )
    return rows
