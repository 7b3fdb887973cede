"""Wall time of ``lipsync demo`` (setup excluded: the environment and the template already exist)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import Row

RUNS = 3


def main() -> list[Row]:
    lipsync = Path(sys.executable).with_name("lipsync")
    subprocess.run([lipsync, "demo"], check=True, capture_output=True)  # noqa: S603 - warm: synth, caches
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([lipsync, "demo"], check=True, capture_output=True)  # noqa: S603 - our CLI
        samples.append(time.perf_counter() - started)
    return [
        Row("`lipsync demo` wall time (best of 3)", min(samples), None, "s", "< 3.5 s", lambda o, _: o < 3.5)
    ]
