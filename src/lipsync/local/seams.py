"""The places where the local runtime changes what moto does (each a ``Patch``, see ``moto_patches``).

1. Lambda: ``LambdaSimpleBackend.invoke`` calls our handler in-process instead of echoing the
   payload; an exception becomes an ``Unhandled`` function error named by its class, as on AWS.
2. Step Functions: ``BaseExecutionWorkerCommunication.terminated`` also signals an event, so
   callers wait for an execution to end without polling; and, as on AWS, where an execution that
   ends sends ``Step Functions Execution Status Change`` to the default bus, calls ``on_terminated``.
3. Time: waits and retry intervals are scaled (0 skips them), so one definition runs with
   production intervals on AWS and quickly here.
4. DynamoDB: each operation is atomic and isolated on AWS; moto checks a condition and writes in two
   steps, and copies and serialises items while other threads write them, so whole operations
   (answer included) run one at a time (``DYNAMODB_OPERATIONS``).
5. Step Functions: ``StopExecution`` stops the execution whenever it comes, as on AWS: right after
   ``StartExecution`` (moto's worker makes its environment in its own thread and would fail the stop
   until then: ``EXECUTION_STOP``), during a Wait (moto wakes only the waits already waiting:
   ``STOP_SIGNAL``), and while a task waits for its token (``STOP_SIGNAL`` wakes its callback).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .lambda_functions import FunctionRegistry
from .moto_patches import MotoPatches, Patch, parameters, source_contains

_DYNAMODB_LOCK = threading.RLock()


def _one_at_a_time(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call_action_alone(handler: Any) -> Any:
        with _DYNAMODB_LOCK:
            return call_action(handler)

    return call_action_alone


# In server mode and in-process alike every DynamoDB request goes through ``DynamoHandler.call_action``,
# which runs the action (reading, copying and changing items) and serialises its answer. moto also
# delivers DynamoDB stream records to a mapped function inside the write (``StreamShard.add``), not
# through the Lambda seam: were the runtime to deliver streams to our handlers, it must do so after
# the operation (AWS delivers them asynchronously), or in server mode a handler's own DynamoDB call,
# served by another thread, would wait for this lock forever.
DYNAMODB_OPERATIONS = Patch(
    "moto.dynamodb.responses:DynamoHandler",
    "call_action",
    _one_at_a_time,
    why="DynamoDB operations are atomic and isolated, as on AWS",
    expects=(
        parameters("self"),
        source_contains("super().call_action()"),
        source_contains(
            "response = method()",
            "self.serialized(response)",
            where="moto.core.responses:BaseResponse.call_action",
        ),
    ),
)


@contextmanager
def consistent_dynamodb() -> Iterator[None]:
    """moto's DynamoDB operations one at a time, as atomic as on AWS, for the duration (in-process tests
    with threads)."""
    with MotoPatches([DYNAMODB_OPERATIONS]).installed():
        yield


# How long a stop waits for the execution's worker thread to make its environment (milliseconds, in
# practice: the thread only parses the cached definition first).
WORKER_START_SECONDS = 10.0


def _stop_once_started(stop: Callable[..., Any]) -> Callable[..., Any]:
    def stop_once_started(worker: Any, stop_date: Any, error: Any, cause: Any) -> Any:
        started_by = time.monotonic() + WORKER_START_SECONDS
        while worker.env is None and time.monotonic() < started_by:
            time.sleep(0.001)  # the worker's thread is between start() and making its environment
        return stop(worker, stop_date, error, cause)

    return stop_once_started


EXECUTION_STOP = Patch(
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker",
    "stop",
    _stop_once_started,
    why="StopExecution right after StartExecution stops the execution, as on AWS",
    expects=(
        parameters("self", "stop_date", "error", "cause"),
        source_contains("self.env.set_stop("),
        source_contains(
            "self.env = None",
            where="moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker.__init__",
        ),
        source_contains(
            "self.env = self._get_evaluation_environment()",
            where="moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._execution_logic",
        ),
    ),
)


_STOP_SIGNALS_LOCK = threading.Lock()


def stop_signal(env: Any) -> threading.Event:
    """An event set once ``env`` (an execution's environment, or a frame of it) is stopped. moto's own
    ``program_state_event`` is set and cleared at once, so a Wait that starts waiting just after a
    stop never sees it and waits its whole time (a cancelled job's execution lingering)."""
    with _STOP_SIGNALS_LOCK:
        signal: threading.Event | None = env.__dict__.get("_lipsync_stopped")
        if signal is None:
            signal = env.__dict__["_lipsync_stopped"] = threading.Event()
        return signal


def _signal_stops(set_stop: Callable[..., None]) -> Callable[..., None]:
    def set_stop_and_signal(env: Any, stop_date: Any, cause: Any, error: Any) -> None:
        set_stop(env, stop_date, cause, error)
        stop_signal(env).set()
        # A task paused on its token (the line's WaitForAdmission) waits on its callback endpoint for
        # as long as its TimeoutSeconds, which a stop does not shorten in moto: wake it, as AWS ends it.
        for endpoint in list(env.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    return set_stop_and_signal


STOP_SIGNAL = Patch(
    "moto.stepfunctions.parser.asl.eval.environment:Environment",
    "set_stop",
    _signal_stops,
    why="a Wait, or a task paused on its token, ends when its execution is stopped, whenever the stop comes",
    expects=(
        parameters("self", "stop_date", "cause", "error"),
        source_contains("self.program_state_event.set()", "self.program_state_event.clear()"),
        source_contains(
            "self._pool = OrderedDict()",
            where="moto.stepfunctions.parser.asl.eval.callback.callback:CallbackPoolManager",
        ),
        source_contains(
            "self._notify_event.set()",
            where="moto.stepfunctions.parser.asl.eval.callback.callback:CallbackEndpoint.interrupt_all",
        ),
    ),
)


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: sleeps are scaled."""

    def __init__(self, scale: Callable[[], float]) -> None:
        self._scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self._scale())

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class Seams:
    """The runtime's hooks into moto, as patches: ``MotoPatches(seams.patches())`` installs them."""

    def __init__(
        self,
        registry: FunctionRegistry,
        time_scale: float = 0.0,
        on_wait: Callable[[float], Any] | None = None,
        on_terminated: Callable[[Any], Any] | None = None,
    ) -> None:
        self.registry = registry
        self.time_scale = time_scale
        self.on_wait = on_wait  # told of every Wait state's seconds (tests move the emulator's clock)
        self.on_terminated = on_terminated  # told of every execution that ended (moto's Execution)
        self._finished: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "moto.awslambda_simple.models:LambdaSimpleBackend",
                "invoke",
                self._invoke,
                why="a Lambda invocation runs our handler",
                expects=(
                    parameters("self", "function_name", "qualifier", "body", "headers", "response_headers"),
                ),
            ),
            Patch(
                "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:WaitFunction",
                "_wait_interval",
                self._wait_interval,
                why="Wait states last their scaled time",
                expects=(parameters("self", "env", "wait_seconds"),),
            ),
            Patch(
                "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl",
                "time",
                lambda _: _ScaledTime(lambda: self.time_scale),
                why="retry intervals last their scaled time",
                expects=(
                    source_contains(
                        "time.sleep(interval_seconds)",
                        where="moto.stepfunctions.parser.asl.component.common.retry.retrier_decl",
                    ),
                ),
            ),
            Patch(
                "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication",
                "terminated",
                self._terminated,
                why="an execution's end is announced and can be waited for",
                expects=(parameters("self"),),
            ),
            DYNAMODB_OPERATIONS,
            EXECUTION_STOP,
            STOP_SIGNAL,
        ]

    def _invoke(self, _: Any) -> Callable[..., bytes]:
        registry = self.registry

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            return registry.invoke(function_name, body, response_headers)

        return invoke

    def _wait_interval(self, _: Any) -> Callable[[Any, Any, int], None]:
        seams = self

        def wait_interval(wait: Any, env: Any, wait_seconds: int) -> None:
            if seams.on_wait is not None:
                seams.on_wait(wait_seconds)
            scaled = wait_seconds * seams.time_scale
            stopped = stop_signal(env)  # before the check: a stop after it sets this event
            if scaled > 0 and env.is_running():
                stopped.wait(scaled)

        return wait_interval

    def _terminated(self, terminated: Callable[[Any], None]) -> Callable[[Any], None]:
        seams = self

        def announced(communication: Any) -> None:
            terminated(communication)
            if seams.on_terminated is not None:
                try:
                    seams.on_terminated(communication.execution)
                except Exception:  # like EventBridge's delivery: never the execution's problem
                    logging.getLogger(__name__).exception("while announcing an execution's end")
            seams._event(communication.execution.exec_arn).set()

        return announced

    def _event(self, execution_arn: str) -> threading.Event:
        with self._lock:
            return self._finished.setdefault(execution_arn, threading.Event())

    def wait_for(self, execution_arn: str, timeout: float) -> bool:
        """Block until the execution has ended (True) or ``timeout`` passes (False)."""
        return self._event(execution_arn).wait(timeout)
