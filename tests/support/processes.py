"""Child processes the tests start (``lipsync up``, ``lipsync run``): they die with the test process,
and one that does not stop in time says where it hung."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def as_at_a_terminal() -> None:
    """In a child, before exec: Ctrl-C and Ctrl-\\ as a terminal user's program has them. A test run
    started in the background of a shell without job control (``cmd &`` in a script, as CI runners
    may) inherits both ignored (POSIX), and Python keeps an inherited SIG_IGN: the tests' Ctrl-C would
    then never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def _prepare_child() -> None:
    """In the child, before exec: SIGKILL when the test process dies (a killed xdist worker would
    otherwise leave a whole local stack running, orphaned, for the rest of the machine's life)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    as_at_a_terminal()


def child_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``PYTHONFAULTHANDLER``: a child sent SIGABRT writes every thread's stack to its stderr."""
    return {**(os.environ if env is None else env), "PYTHONFAULTHANDLER": "1"}


def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    kwargs["env"] = child_environment(kwargs.get("env"))
    return subprocess.Popen(command, preexec_fn=_prepare_child, text=True, **kwargs)


def stop(process: subprocess.Popen[str], *, timeout: float) -> None:
    """SIGINT (Ctrl-C), then wait; a process that does not end in time is sent SIGABRT, so that its
    threads' stacks land in its stderr, and the test fails saying so."""
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.communicate(timeout=30)
        message = f"the process did not stop within {timeout} s of Ctrl-C (stacks in its stderr)"
        raise AssertionError(message) from None
