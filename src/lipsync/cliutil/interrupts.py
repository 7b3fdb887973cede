"""Ctrl-C, for the commands that run the local stack (``run``, ``demo``, ``up``): the first press stops
the command, and the way out is quick and cannot itself be interrupted."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _interrupt_once(signum: int, frame: Any) -> None:
    """The first Ctrl-C stops the command; further ones are ignored while it cleans up, so that a
    second press cannot leave the local stack's temporary files behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextmanager
def ctrl_c_once() -> Iterator[None]:
    """After an interruption Ctrl-C stays ignored: the command is on its way out."""
    previous = signal.signal(signal.SIGINT, _interrupt_once)
    yield
    signal.signal(signal.SIGINT, previous)


def abandon(runtime: Any) -> None:
    """Leave a local runtime behind at once: the emulator's work directory, the only files the stack
    writes, goes now; the rest lives in memory and in threads that end with the process (the program
    leaves without waiting for them). What those threads would log on the way out is of no interest."""
    logging.disable(logging.CRITICAL)
    runtime.emulator.close()
