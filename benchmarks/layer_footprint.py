"""Size and import time of the signing layer, measured beside the official ``volcengine`` SDK.

Both are installed with ``pip --target`` into scratch folders (the SDK is never a dependency of the
layer) and imported in fresh interpreters; the import time is the median over several runs of
``python -X importtime``'s cumulative figure for the top-level module.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.layer_bundling import build_layer

SDK_REQUIREMENT = "volcengine==1.0.229"
RUNS = 9
# Standard-library modules the Lambda Python runtime has already imported before it loads a
# handler (its bootstrap uses them): importing them again costs a function nothing.
RUNTIME_PRELOADED = "import json, logging, hashlib, hmac, datetime, typing, urllib.parse, enum, dataclasses"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def folder_size_without_bytecode(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def import_ms(path: Path, statement: str, preamble: str = "pass") -> float:
    """Median wall time of ``statement`` in a fresh interpreter with ``path`` first on sys.path,
    after ``preamble`` (not timed)."""
    code = (
        f"import sys, time; sys.path.insert(0, sys.argv[1]); {preamble}; t = time.perf_counter(); "
        f"{statement}; print((time.perf_counter() - t) * 1000)"
    )
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(  # noqa: S603 - our interpreter, fixed code
            [sys.executable, "-S", "-c", code, str(path)], check=True, capture_output=True, text=True
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        layer = build_layer(Path(tmp) / "layer")
        sdk = Path(tmp) / "sdk"
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(sdk), SDK_REQUIREMENT],
            check=True,
        )
        for folder in (layer, sdk):
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=False)  # noqa: S603
            for _ in range(2):  # warm the page cache
                import_ms(folder, "pass")
        sizes = [(folder_size(f), folder_size_without_bytecode(f)) for f in (layer, sdk)]
        ours_stmt = "import lipsync_core.volc"
        ready_stmt = "import lipsync_core.volc as v; v.VolcClient('a', 'b').session"
        sdk_stmt = "from volcengine.visual.VisualService import VisualService"
        rows = [
            ("cold interpreter", "pass"),
            ("after Lambda's preloaded stdlib", RUNTIME_PRELOADED),
        ]
        timings = [
            (
                label,
                import_ms(layer, ours_stmt, pre),
                import_ms(layer, ready_stmt, pre),
                import_ms(sdk, sdk_stmt, pre),
            )
            for label, pre in rows
        ]
    (layer_all, layer_src), (sdk_all, sdk_src) = sizes
    print(
        f"size with bytecode   layer {layer_all / 1e6:6.2f} MB   SDK {sdk_all / 1e6:6.2f} MB   "
        f"ratio 1/{sdk_all / layer_all:.1f}"
    )
    print(
        f"size, sources only   layer {layer_src / 1e6:6.2f} MB   SDK {sdk_src / 1e6:6.2f} MB   "
        f"ratio 1/{sdk_src / layer_src:.1f}"
    )
    for label, ours, ready, theirs in timings:
        print(
            f"import, {label}: lipsync_core.volc {ours:6.1f} ms (1/{theirs / ours:.1f} of the SDK), "
            f"with requests loaded {ready:6.1f} ms (1/{theirs / ready:.1f}); "
            f"SDK VisualService {theirs:6.1f} ms"
        )


if __name__ == "__main__":
    main()
