"""Ctrl-C during ``lipsync run`` in a terminal (a pty): one line, exit code 130, no process and no
temporary file left behind, whichever moment it lands and however often it is pressed."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
from pathlib import Path

import pytest

from lipsync.emulator.admin import EmulatorAdmin
from lipsync_client import LipSync
from tests.client.conftest import Up, up_session
from tests.support import processes
from tests.support.media import Media

pytestmark = [pytest.mark.xdist_group("clients"), pytest.mark.slow]
GUARD_SECONDS = 120  # only against a hung test; the test waits on output, never on time


def run_in_pty(
    args: list[str], env: dict[str, str], press_after: bytes, presses: int
) -> tuple[int, str, int]:
    """Runs ``lipsync`` on a pty, presses Ctrl-C once ``press_after`` is printed; returns the exit code,
    what was printed after the press, and the child's process group (its pid: pty.fork starts a session)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes lipsync
        processes.as_at_a_terminal()
        os.execve(sys.executable, [sys.executable, "-m", "lipsync", *args], env)  # noqa: S606
    printed, after, pressed = b"", b"", False
    while True:
        ready, _, _ = select.select([fd], [], [], GUARD_SECONDS)
        assert ready, f"no output for {GUARD_SECONDS} s: {printed[-500:]!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child has gone and the pty closed
            break
        if not chunk:
            break
        printed += chunk
        if pressed:
            after += chunk
        elif press_after in printed:
            os.write(fd, b"\x03" * presses)  # the terminal turns each into SIGINT for the foreground group
            pressed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert pressed, printed[-500:]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\^C", "", after.decode(errors="replace"))  # escapes, echoed ^C
    return os.waitstatus_to_exitcode(status), text, pid


@pytest.mark.parametrize(
    ("moment", "presses"),
    [(b"starting the local stack", 1), (b"started:", 1), (b"started:", 3)],
    ids=["while-starting", "while-running", "pressed-three-times"],
)
def test_ctrl_c_during_run(media: Media, tmp_path: Path, moment: bytes, presses: int) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIPSYNC_")}
    env.update({"TMPDIR": str(scratch), "COLUMNS": "100", "TERM": "xterm"})
    out = tmp_path / "out"
    args = ["run", str(media.root / "face.mp4"), str(media.root / "voice.wav"), "--out", f"{out}/"]

    code, after, group = run_in_pty(args, env, moment, presses)

    assert code == 130
    lines = [line.strip() for line in after.splitlines() if line.strip()]
    assert lines[-1:] == ["lipsync run: interrupted"]
    assert sum("interrupted" in line for line in lines) == 1
    assert "Traceback" not in after, after
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # nothing of the run is left in its process group
    assert list(scratch.iterdir()) == []  # no temporary files (the emulator's work directory included)
    assert list(out.iterdir()) == []  # no result, no partial download


def test_ctrl_c_while_waiting_on_a_stack_says_the_job_goes_on(up: Up, media: Media) -> None:
    admin = EmulatorAdmin(up.document["emulator"])
    admin.add_faults({"fault": "throttle", "action": "CVGetResult", "count": 10_000})  # keeps it in flight
    try:
        job_id = LipSync(up.api, session=up_session()).submit(
            mode="lite", video=media.url("face.mp4"), audio=media.url("voice.wav")
        )["job_id"]
        env = {**up.env, "COLUMNS": "100", "TERM": "xterm"}
        code, after, _ = run_in_pty(["wait", job_id], env, b"QUEUED", 1)
        assert code == 130
        assert after.strip().splitlines()[-1].strip() == (
            f"lipsync wait: interrupted; job {job_id} goes on (lipsync cancel {job_id} stops it)"
        )
        assert LipSync(up.api, session=up_session()).cancel(job_id)["status"] == "CANCELLED"  # it went on
    finally:
        admin.clear_faults()
