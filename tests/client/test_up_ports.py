"""``lipsync up``'s ports: fixed defaults, a busy default falls back to a free port (said once), a
busy or impossible port asked for is one line before anything starts."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from lipsync.cliutil.output import InputError, Output
from lipsync.commands import up


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_free_default_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as finder:
        finder.bind(("127.0.0.1", 0))
        free = finder.getsockname()[1]
    assert up.pick_port(free, "api_port", Output("up")) == free
    assert up.pick_port(0, "api_port", Output("up")) == 0
    assert capsys.readouterr().err == ""


def test_a_busy_default_falls_back_with_one_line(
    busy_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(up.DEFAULT_PORTS, "api_port", busy_port)
    assert up.pick_port(None, "api_port", Output("up")) == 0
    assert capsys.readouterr().err == f"port {busy_port} (--api-port) is busy: using a free port instead\n"


def test_a_busy_port_asked_for_is_an_error(busy_port: int) -> None:
    with pytest.raises(InputError, match=f"^--emulator-port {busy_port} is already in use$"):
        up.pick_port(busy_port, "emulator_port", Output("up"))


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_an_impossible_port_is_one_line_before_anything_starts(port: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lipsync", "up", "--port", port], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr == f"lipsync up: --port {port} is not a port number (1-65535, or 0 for any free port)\n"
    )
