"""The few places where the local runtime reaches into moto (pinned exactly in requirements).

1. Lambda: ``LambdaSimpleBackend.invoke`` calls our handler in-process instead of echoing the
   payload; an exception becomes an ``Unhandled`` function error named by its class, as on AWS.
2. Step Functions: ``BaseExecutionWorkerCommunication.terminated`` also signals an event, so
   callers wait for an execution to end without polling.
3. Time: waits and retry intervals are scaled (0 skips them), so one definition runs with
   production intervals on AWS and quickly here.
4. DynamoDB: conditional writes are atomic on AWS; moto checks the condition and writes in two
   steps that threads can interleave, so its item writes are serialised (``atomic_dynamodb_writes``).
5. Step Functions: on AWS an execution that ends sends ``Step Functions Execution Status Change``
   to the default bus; moto sends nothing, so ``terminated`` also calls ``on_terminated``.

``check_seams()`` fails with a clear message when moto's internals have moved.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MOTO_VERSION = "5.2.5"
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


class MotoSeamError(RuntimeError):
    pass


def check_seams() -> None:
    """Raise ``MotoSeamError`` unless moto still has the shapes we patch."""
    import moto
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    def original(function: Any) -> Any:
        return getattr(function, "__lipsync_original__", function)

    problems = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(f"moto is {moto.__version__}, the seams were written for {MOTO_VERSION}")
    expected = ["self", "function_name", "qualifier", "body", "headers", "response_headers"]
    if list(inspect.signature(original(LambdaSimpleBackend.invoke)).parameters) != expected:
        problems.append("LambdaSimpleBackend.invoke changed its signature")
    if list(inspect.signature(original(WaitFunction._wait_interval)).parameters) != [
        "self",
        "env",
        "wait_seconds",
    ]:
        problems.append("WaitFunction._wait_interval changed its signature")
    if not hasattr(retrier_decl, "time") or "time.sleep(interval_seconds)" not in inspect.getsource(
        retrier_decl
    ):
        problems.append("retrier_decl no longer sleeps with time.sleep")
    if not callable(original(getattr(BaseExecutionWorkerCommunication, "terminated", None))):
        problems.append("BaseExecutionWorkerCommunication.terminated is gone")
    from moto.dynamodb.models import DynamoDBBackend

    for name in DYNAMODB_WRITES:
        if not callable(original(getattr(DynamoDBBackend, name, None))):
            problems.append(f"DynamoDBBackend.{name} is gone")
    if problems:
        raise MotoSeamError("the local runtime's moto seams moved: " + "; ".join(problems))


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


@dataclass
class FunctionRegistry:
    """Function name -> its execution environments, and every invocation for inspection."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)
    invocations: list[tuple[str, bool]] = field(default_factory=list)  # (function name, succeeded)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self,
        name: str,
        load: Callable[[], Handler],
        *,
        memory: int = 256,
        timeout: int = 900,
        serial: bool = False,
    ) -> None:
        self.functions[name] = LocalFunction(name, load, memory, timeout, serial)

    def __contains__(self, name: str) -> bool:
        return name in self.functions

    def named(self, suffix: str) -> LocalFunction:
        """The function whose name ends with ``suffix`` (physical names carry the stack's prefix)."""
        return next(f for n, f in self.functions.items() if n.endswith(suffix))

    def call(self, name: str, event: Any) -> Any:
        """Invoke ``name`` as an event source would (the trigger dispatcher, the API server)."""
        function = self.functions[name]
        try:
            result = function(event, function.context())
        except Exception:
            self._record(name, False)
            raise
        self._record(name, True)
        return result

    def _record(self, name: str, succeeded: bool) -> None:
        with self.lock:
            self.invocations.append((name, succeeded))

    def invoke(self, function_name: str, body: Any, response_headers: Any) -> bytes:
        name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
        if name not in self.functions:
            raise MotoSeamError(f"no local handler for Lambda function {name!r}")
        function = self.functions[name]
        event = json.loads(body) if body else {}
        try:
            result = function(event, function.context(function_name))
        except Exception as exc:  # the function error, as Lambda reports it
            self._record(name, False)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
                }
            ).encode()
        self._record(name, True)
        return json.dumps(result).encode()


_DYNAMODB_LOCK = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    def serialised(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return serialised


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """moto's DynamoDB item writes, each atomic as on AWS, for the duration (tests of the limiter)."""
    from moto.dynamodb.models import DynamoDBBackend

    originals = {name: getattr(DynamoDBBackend, name) for name in DYNAMODB_WRITES}
    for name, method in originals.items():
        setattr(DynamoDBBackend, name, _serialised(method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: sleeps are scaled."""

    def __init__(self, scale: Callable[[], float]) -> None:
        self._scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self._scale())

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class Seams:
    """Installs the patches; ``uninstall()`` puts moto back as it was."""

    def __init__(
        self,
        registry: FunctionRegistry,
        time_scale: float = 0.0,
        on_wait: Callable[[float], Any] | None = None,
        on_terminated: Callable[[Any], Any] | None = None,
    ) -> None:
        check_seams()
        self.registry = registry
        self.time_scale = time_scale
        self.on_wait = on_wait  # told of every Wait state's seconds (tests move the emulator's clock)
        self.on_terminated = on_terminated  # told of every execution that ended (moto's Execution)
        self._finished: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._originals: list[tuple[Any, str, Any]] = []

    def install(self) -> Seams:
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
            WaitFunction,
        )
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        registry, seams = self.registry, self
        original_terminated = BaseExecutionWorkerCommunication.terminated

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            return registry.invoke(function_name, body, response_headers)

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            if seams.on_wait is not None:
                seams.on_wait(wait_seconds)
            scaled = wait_seconds * seams.time_scale
            if scaled > 0:
                env.program_state_event.wait(scaled)

        def terminated(self: Any) -> None:
            original_terminated(self)
            if seams.on_terminated is not None:
                try:
                    seams.on_terminated(self.execution)
                except Exception:  # like EventBridge's delivery: never the execution's problem
                    logging.getLogger(__name__).exception("while announcing an execution's end")
            seams._event(self.execution.exec_arn).set()

        self._patch(LambdaSimpleBackend, "invoke", invoke)
        self._patch(WaitFunction, "_wait_interval", wait_interval)
        self._patch(BaseExecutionWorkerCommunication, "terminated", terminated)
        self._patch(retrier_decl, "time", _ScaledTime(lambda: seams.time_scale))
        self._install_atomic_dynamodb_writes()
        return self

    def _install_atomic_dynamodb_writes(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        for name in DYNAMODB_WRITES:
            self._patch(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        original = getattr(owner, name)
        self._originals.append((owner, name, original))
        if callable(value) and not isinstance(value, _ScaledTime):
            value.__lipsync_original__ = original  # so check_seams() inspects moto's own code
        setattr(owner, name, value)

    def uninstall(self) -> None:
        for owner, name, value in reversed(self._originals):
            setattr(owner, name, value)
        self._originals.clear()

    def _event(self, execution_arn: str) -> threading.Event:
        with self._lock:
            return self._finished.setdefault(execution_arn, threading.Event())

    def wait_for(self, execution_arn: str, timeout: float) -> bool:
        """Block until the execution has ended (True) or ``timeout`` passes (False)."""
        return self._event(execution_arn).wait(timeout)
