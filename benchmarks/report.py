"""The figures of issue 12's table, each beside its baseline from the same run, with its goal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SDK_REQUIREMENT = "volcengine==1.0.229"


@dataclass(frozen=True)
class Row:
    figure: str
    ours: float
    baseline: float | None
    unit: str
    goal: str = "-"
    met: Callable[[float, float | None], bool] | None = None  # (ours, baseline) -> goal met

    @property
    def ratio(self) -> str:
        return f"{self.ours / self.baseline:.2f}x" if self.baseline else "-"

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met(self.ours, self.baseline) else "NOT MET"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"


def print_table(rows: list[Row]) -> None:
    header = ("figure", "ours", "baseline", "ratio", "goal", "")
    lines = [header] + [
        (r.figure, _figure(r.ours, r.unit), _figure(r.baseline, r.unit), r.ratio, r.goal, r.verdict)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    sys.stdout.flush()


def install_sdk(python: str, folder: Path) -> Path:
    """The official SDK, from PyPI into a scratch folder, for ``python`` (never a dependency of ours)."""
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--root-user-action=ignore"]
    subprocess.run(  # noqa: S603 - an interpreter and fixed arguments
        [*pip, "--target", str(folder), SDK_REQUIREMENT],
        check=True,
        env={**os.environ, "PIP_NO_WARN_SCRIPT_LOCATION": "1"},
    )
    return folder
