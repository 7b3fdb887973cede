"""Lambda, in-process: each function of the template with its execution environments, invoked by
moto's Lambda seam (Step Functions' tasks), the trigger dispatcher and the local API server.

Lambda's own limits hold: an invocation that runs past its function's timeout fails with
``Sandbox.Timedout`` ("Task timed out after … seconds"), and a synchronous answer over 6 MB with
``Function.ResponseSizeTooLarge``, the error types Lambda reports (and Step Functions matches)."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.credentials import ReadOnlyCredentials

from .deadlines import within
from .iam.acting import acting_as
from .moto_patches import MotoSeamError

MAX_SYNC_RESPONSE_BYTES = 6_291_556  # Lambda's quota for a synchronous invocation's response


class FunctionError(Exception):
    """An invocation that Lambda itself failed (not the handler): ``error_type`` as Lambda names it."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class LambdaContext:
    """Enough of Lambda's context object for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = "local"
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"
    deadline: float = field(default_factory=lambda: time.monotonic() + 900)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


Handler = Callable[[Any, Any], Any]


@dataclass
class LocalFunction:
    """One function and its execution environments. As on Lambda, an environment runs one invocation
    at a time, and a new one is made (``load``: the handler module loaded afresh, with its own
    module-level state) whenever every existing one is busy.

    Environments here are threads of one process, so state a library keeps on a class is shared by
    all of them: Powertools' event handler keeps the current request on ``BaseRouter``. A function
    with such state is ``serial``: its invocations run one at a time, as in a single environment.
    """

    name: str
    load: Callable[[], Handler]
    memory: int = 256
    timeout: int = 900
    serial: bool = False
    credentials: ReadOnlyCredentials | None = None  # its role's session: what its AWS calls sign with
    idle: list[Handler] = field(default_factory=list)
    environments: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    serial_lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self) -> Handler:
        with self.lock:
            if self.idle:
                return self.idle.pop()
            self.environments += 1
        return self.load()

    def __call__(self, event: Any, context: Any) -> Any:
        """The invocation, timed as Lambda times it: from the handler's call, not while an environment
        is made (Lambda's init phase is not the invocation's time) or waited for (Lambda would make
        another). An environment that timed out is abandoned, as Lambda ends its sandbox."""
        handler = self._take()
        with self.serial_lock if self.serial else contextlib.nullcontext():
            try:
                result = within(self.timeout, self._run, handler, event, context)
            except TimeoutError:
                raise FunctionError(
                    "Sandbox.Timedout", f"Task timed out after {self.timeout:.2f} seconds"
                ) from None
            except BaseException:
                self._give_back(handler)
                raise
        self._give_back(handler)
        return result

    def _run(self, handler: Handler, event: Any, context: Any) -> Any:
        with acting_as(self.credentials):
            return handler(event, context)

    def _give_back(self, handler: Handler) -> None:
        with self.lock:
            self.idle.append(handler)

    def context(self, invoked_arn: str = "") -> LambdaContext:
        return LambdaContext(
            function_name=self.name,
            memory_limit_in_mb=self.memory,
            invoked_function_arn=invoked_arn,
            aws_request_id=f"local-{time.time_ns()}",
            deadline=time.monotonic() + self.timeout,
        )


@dataclass(frozen=True)
class Invocations:
    """What the functions were asked to do: invocations and billed GB-seconds (each invocation's
    duration, rounded up to the millisecond as Lambda bills it, times its function's memory)."""

    count: Counter[str] = field(default_factory=Counter)  # function name -> invocations
    gb_seconds: float = 0.0

    def minus(self, earlier: Invocations) -> Invocations:
        return Invocations(self.count - earlier.count, self.gb_seconds - earlier.gb_seconds)


@dataclass
class FunctionRegistry:
    """Function name -> its execution environments, and every invocation for inspection."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)
    invocations: list[tuple[str, bool]] = field(default_factory=list)  # (function name, succeeded)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _gb_seconds: float = 0.0

    def register(
        self,
        name: str,
        load: Callable[[], Handler],
        *,
        memory: int = 256,
        timeout: int = 900,
        serial: bool = False,
        credentials: ReadOnlyCredentials | None = None,
    ) -> None:
        self.functions[name] = LocalFunction(name, load, memory, timeout, serial, credentials)

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    def named(self, suffix: str) -> LocalFunction:
        """The function whose name ends with ``suffix`` (physical names carry the stack's prefix)."""
        return next(f for n, f in self.functions.items() if n.endswith(suffix))

    def call(self, name: str, event: Any, *, synchronous: bool = False) -> Any:
        """Invoke ``name`` as an event source would: the trigger dispatcher (asynchronously), the API
        server (``synchronous``: the answer is bounded as Lambda bounds it)."""
        function, started = self.functions[name], time.monotonic()
        try:
            result = function(event, function.context())
            if synchronous:
                answer(result)
        except Exception:
            self._record(name, False, started)
            raise
        self._record(name, True, started)
        return result

    def _record(self, name: str, succeeded: bool, started: float) -> None:
        billed = math.ceil((time.monotonic() - started) * 1000) / 1000 * self.functions[name].memory / 1024
        with self.lock:
            self.invocations.append((name, succeeded))
            self._gb_seconds += billed

    def counted(self) -> Invocations:
        with self.lock:
            return Invocations(Counter(name for name, _ in self.invocations), self._gb_seconds)

    def invoke(self, function_name: str, body: Any, response_headers: Any) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        if name not in self.functions:
            raise MotoSeamError(f"no local handler for Lambda function {name!r}")
        function, started = self.functions[name], time.monotonic()
        event = json.loads(body) if body else {}
        try:
            payload = answer(function(event, function.context(function_name)))
        except Exception as exc:  # the function error, as Lambda reports it
            self._record(name, False, started)
            response_headers["x-amz-function-error"] = "Unhandled"
            error = {"errorType": getattr(exc, "error_type", type(exc).__name__), "errorMessage": str(exc)}
            if not isinstance(exc, FunctionError):
                error["stackTrace"] = traceback.format_tb(exc.__traceback__)[-5:]
            return json.dumps(error).encode()
        self._record(name, True, started)
        return payload


def answer(result: Any) -> bytes:
    """A synchronous invocation's response payload, refused as Lambda refuses one over 6 MB."""
    payload = json.dumps(result).encode()
    if len(payload) > MAX_SYNC_RESPONSE_BYTES:
        raise FunctionError(
            "Function.ResponseSizeTooLarge",
            f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_RESPONSE_BYTES} bytes).",
        )
    return payload
