from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lipsync.cli import main
from lipsync_core.volc import VolcClient
from tests.support import processes


@pytest.mark.slow
def test_demo_runs_the_pipeline_and_writes_a_result_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["demo-lipsync.mp4"]
    assert (tmp_path / "out" / "demo-lipsync.mp4").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "result: out/demo-lipsync.mp4" in printed
    assert "LipSync Job Succeeded" in printed
    assert '"status": "SUCCEEDED"' in printed


def test_run_refuses_missing_files_and_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "none.mp4"), str(tmp_path / "none.wav")]) == 2
    assert capsys.readouterr().err == f"lipsync run: the video file {tmp_path / 'none.mp4'} does not exist\n"
    assert main(["run", "a.mp4", "b.wav", "--option", "novalue"]) == 2
    assert "key=value" in capsys.readouterr().err


def test_options_are_read_as_json_when_they_can_be() -> None:
    from lipsync.cliutil.preflight import parse_option

    assert parse_option("align_audio=false") == ("align_audio", False)
    assert parse_option("templ_start_seconds=1.5") == ("templ_start_seconds", 1.5)
    assert parse_option("name=plain text") == ("name", "plain text")


def test_the_emulator_runs_standalone_and_stops_cleanly() -> None:
    process = processes.popen(
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
