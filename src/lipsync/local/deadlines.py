"""Waiting for a call no longer than AWS would: a Lambda function's timeout, API Gateway's integration
timeout. The call runs in a thread of its own and is abandoned at the deadline (Python cannot stop a
thread: what it does later still happens, where Lambda would have ended the sandbox)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def within(seconds: float, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``'s result or exception, in the caller's context, or ``TimeoutError`` once
    ``seconds`` have passed."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append((True, context.run(call, *args)))
        except BaseException as error:  # handed to the caller, who decides
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="invocation").start()
    if not done.wait(seconds):
        raise TimeoutError(f"no answer within {seconds} s")
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value
