"""The ``lipsync`` command as scripts use it, against ``lipsync up``: ``--json`` parsed, ``--quiet``,
exit codes, errors as one line on stderr, and nothing hard-wrapped in a 40-column terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.client.conftest import Up
from tests.support import processes
from tests.support.media import Media

pytestmark = [pytest.mark.xdist_group("clients"), pytest.mark.slow]


def lipsync(up: Up | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**(up.env if up else {}), **(env or {}), "COLUMNS": "40"}
    if up is None:
        environment = {**os.environ, **environment}
    return subprocess.run(
        [sys.executable, "-m", "lipsync", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"lipsync {command}: ")
    return lines[0]


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # the whole of stdout is one document


def test_submit_wait_status_logs_list_as_json(up: Up, media: Media) -> None:
    started = as_json(
        lipsync(
            up,
            "submit",
            str(media.root / "face.mp4"),
            str(media.root / "voice.wav"),
            "--priority",
            "high",
            "--json",
        )
    )
    job_id = started["job_id"]
    assert started["status"] == "QUEUED"

    finished = as_json(lipsync(up, "wait", job_id, "--json", "--interval", "0.1"))
    assert (finished["job_id"], finished["status"]) == (job_id, "SUCCEEDED")
    assert finished["output"]["url"].startswith("http")  # a long URL: still one JSON string at 40 columns

    status = as_json(lipsync(up, "status", job_id, "--json"))
    assert (status["status"], status["request"]["priority"]) == ("SUCCEEDED", "high")
    line = as_json(lipsync(up, "queue", "--json"))
    assert [(m["mode"], m["waiting"], m["running"]) for m in line["modes"]] == [
        ("lite", 0, 0),
        ("basic", 0, 0),
    ]
    assert lipsync(up, "queue", "-q").stdout == "0\n"
    assert lipsync(up, "queue").stdout.splitlines()[0].startswith("lite: 0 waiting, 0 of ")
    history = as_json(lipsync(up, "logs", job_id, "--json"))["history"]
    statuses = [entry["status"] for entry in history]
    assert statuses[0] == "QUEUED"
    assert statuses[-1] == "SUCCEEDED"
    assert "SUBMITTED" in statuses
    assert as_json(lipsync(up, "list", "--json", "--limit", "1"))["jobs"][0]["job_id"] == job_id

    quiet = lipsync(up, "status", job_id, "-q")
    assert (quiet.returncode, quiet.stdout) == (0, "SUCCEEDED\n")
    listed = lipsync(up, "list", "--quiet", "--limit", "1")
    assert listed.stdout == f"{job_id}\n"
    human = lipsync(up, "status", job_id)
    assert human.stdout.splitlines()[0].startswith(f"{job_id}  SUCCEEDED")  # not wrapped at 40 columns

    refused = lipsync(up, "cancel", job_id)
    assert refused.returncode == 3
    assert one_error_line(refused, "cancel") == f"lipsync cancel: job {job_id} is already SUCCEEDED"


def test_run_against_up_puts_the_result_in_a_directory(up: Up, media: Media, tmp_path: Path) -> None:
    result = as_json(
        lipsync(
            up, "run", str(media.root / "face.mp4"), media.url("voice.wav"), "--out", f"{tmp_path}/", "--json"
        )
    )
    assert result["output"] == str(tmp_path / "face.lipsync.mp4")
    assert (tmp_path / "face.lipsync.mp4").stat().st_size == result["job"]["output"]["size_bytes"]
    quiet = lipsync(
        up, "run", str(media.root / "face.mp4"), str(media.root / "voice.wav"), "-q", "--out", str(tmp_path)
    )
    assert quiet.stdout == f"{tmp_path / 'face.lipsync.mp4'}\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["status", "no-such-job"], 3, "lipsync status: no such job"),
        (["wait", "no-such-job"], 3, "lipsync wait: no such job"),
        (
            ["submit", "{face}", "{voice}", "--option", "templ_start_seconds=soon"],
            2,
            "lipsync submit: option 'templ_start_seconds' must be a number, got 'soon'",
        ),
        (
            ["submit", "{face}", "{voice}", "--mode", "basic", "--option", "align_audio=true"],
            2,
            "lipsync submit: option 'align_audio' is only valid in lite mode, not in basic mode",
        ),
        (
            ["submit", "{voice}", "{voice}"],
            2,
            "lipsync submit: voice.wav cannot be the video: the file has no video stream",
        ),
        (
            ["submit", "{face}", "{garbage}"],
            2,
            "lipsync submit: garbage.mp4 cannot be the audio: cannot decode the file",
        ),
        (
            ["run", "{face}", "{voice}", "--out", "/proc/x.mp4"],
            2,
            "lipsync run: cannot write the result to /proc/x.mp4",
        ),
        (["run", "{face}", "gopher://x/v.wav"], 2, "lipsync run: the audio 'gopher://x/v.wav' is neither"),
        (["run", "{face}", "{missing}"], 2, "lipsync run: the audio file {missing} does not exist"),
    ],
)
def test_mistakes_are_one_line_on_stderr_with_an_exit_code(
    up: Up, media: Media, args: list[str], code: int, message: str
) -> None:
    names = {
        "face": str(media.root / "face.mp4"),
        "voice": str(media.root / "voice.wav"),
        "garbage": str(media.root / "garbage.mp4"),
        "missing": str(media.root / "missing.wav"),
    }
    result = lipsync(up, *[arg.format(**names) for arg in args])
    assert result.returncode == code
    assert one_error_line(result, args[0]).startswith(message.format(**names))


def test_without_a_target_or_with_a_wrong_signature() -> None:
    no_target = lipsync(None, "list", env={"LIPSYNC_ENDPOINT": "", "LIPSYNC_STACK": ""})
    assert no_target.returncode == 2
    assert "--stack NAME or --endpoint URL" in one_error_line(no_target, "list")
    unreachable = lipsync(None, "list", "--endpoint", "http://127.0.0.1:9")
    assert unreachable.returncode == 3
    assert (
        one_error_line(unreachable, "list")
        == "lipsync list: cannot reach http://127.0.0.1:9: ConnectionError"
    )


def test_a_wrong_secret_is_refused_by_up(up: Up) -> None:
    result = lipsync(up, "list", env={"AWS_SECRET_ACCESS_KEY": "wrong"})
    assert result.returncode == 3
    assert "signature" in one_error_line(result, "list")


def test_events_reads_what_up_announced(up: Up, media: Media) -> None:
    job_id = lipsync(
        up, "submit", str(media.root / "face.mp4"), str(media.root / "voice.wav"), "-q"
    ).stdout.strip()
    assert lipsync(up, "wait", job_id, "-q", "--interval", "0.1").returncode == 0
    follower = processes.popen(
        [sys.executable, "-m", "lipsync", "events", "--follow", "--json"],
        env={**up.env, "COLUMNS": "40"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert follower.stdout is not None
        for line in follower.stdout:  # JSON Lines, until this job's terminal event
            event = json.loads(line)
            if event["detail"].get("job_id") == job_id:
                assert event["detail-type"] == "LipSync Job Succeeded"
                break
    finally:
        follower.send_signal(2)
        _, err = follower.communicate(timeout=30)
    assert err == "lipsync events: interrupted\n"
    assert as_json(lipsync(up, "events", "--json")) == []  # read once: nothing new since


def test_version_and_help() -> None:
    version = lipsync(None, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("lipsync ")
    for command in ("run", "up", "demo", "submit", "wait", "list", "events"):
        helped = lipsync(None, command, "--help")
        assert helped.returncode == 0
        assert "--json" in helped.stdout
    assert "(default: lite)" in lipsync(None, "run", "--help").stdout
    assert "templ_start_seconds number lite" in " ".join(lipsync(None, "submit", "--help").stdout.split())
    assert "(default: 3000, or a free port if busy" in " ".join(lipsync(None, "up", "--help").stdout.split())


def test_the_banner_exports_work_when_pasted(up: Up) -> None:
    """The banner's export lines, pasted into a shell, are all the AWS CLI and lipsync need."""
    from types import SimpleNamespace

    from lipsync.commands.up import _banner

    banner = _banner(SimpleNamespace(**up.document), "iam")
    exports = [line for line in banner.splitlines() if line.startswith("export ")]
    assert len(exports) == 3
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LIPSYNC_"))}
    script = "\n".join([*exports, f"{sys.executable} -m lipsync list --json --limit 1"])
    listed = subprocess.run(["bash", "-c", script], env=clean, capture_output=True, text=True, check=False)
    assert "jobs" in as_json(listed)  # the API, signed with the pasted credentials (--auth iam)
    first_bucket = 'import boto3; print(*(b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]))'
    script = "\n".join([*exports, f"{sys.executable} -c '{first_bucket}'"])
    bucket = subprocess.run(["bash", "-c", script], env=clean, capture_output=True, text=True, check=False)
    assert up.document["bucket"] in bucket.stdout.split(), bucket.stderr  # AWS (moto), region and all
