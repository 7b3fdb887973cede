"""Lambda, in-process: each function of the template with its execution environments, invoked by
moto's Lambda seam (Step Functions' tasks), the trigger dispatcher and the local API server."""

from __future__ import annotations

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

from .iam.acting import acting_as
from .moto_patches import MotoSeamError


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
        handler = self._take()
        try:
            with acting_as(self.credentials):
                if self.serial:
                    with self.serial_lock:
                        return handler(event, context)
                return handler(event, context)
        finally:
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

    def call(self, name: str, event: Any) -> Any:
        """Invoke ``name`` as an event source would (the trigger dispatcher, the API server)."""
        function = self.functions[name]
        started = time.monotonic()
        try:
            result = function(event, function.context())
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
        function = self.functions[name]
        event = json.loads(body) if body else {}
        started = time.monotonic()
        try:
            result = function(event, function.context(function_name))
        except Exception as exc:  # the function error, as Lambda reports it
            self._record(name, False, started)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
                }
            ).encode()
        self._record(name, True, started)
        return json.dumps(result).encode()
