from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync.cli import main
from lipsync_core.volc import VolcClient


def test_demo_writes_a_result_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    outputs = list((tmp_path / "out").glob("*.mp4"))
    assert len(outputs) == 1
    assert outputs[0].stat().st_size > 10_000
    assert "done:" in capsys.readouterr().out


def test_the_emulator_runs_standalone_and_stops_cleanly() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lipsync",
            "emulator",
            "--port",
            "0",
            "--access-key-id",
            "AKLTcli",
            "--secret-access-key",
            "cli-secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in first_line, first_line
        endpoint = first_line.rsplit(" ", 1)[1].strip()
        result = VolcClient("AKLTcli", "cli-secret", endpoint=endpoint).get_result("lite", "1")
        assert result.status == "not_found"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "emulator stopped" in out


def test_a_bad_fault_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--access-key-id", "a", "--secret-access-key", "b", "--faults", "meteor"]) == 2
    assert "unknown fault 'meteor'" in capsys.readouterr().err
