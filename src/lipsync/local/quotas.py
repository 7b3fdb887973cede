"""AWS quotas the local moto server does not enforce itself, refused as AWS refuses them.

Checked against moto 5.2.5 (``tests/e2e/test_quotas.py`` keeps each finding): moto already refuses a
DynamoDB item over 400 KB (``ValidationException``), an SQS message over its queue's
``MaximumMessageSize`` (``InvalidParameterValue``) and a Step Functions state over 256 KiB
(``States.DataLimitExceeded``). It accepts any ``PutEvents`` request, where EventBridge refuses one whose
entries total 256 KB or more (sized as EventBridge documents it: ``Time`` counts 14 bytes, ``Source``,
``DetailType``, ``Detail`` and each of ``Resources`` their UTF-8 bytes). Lambda's and API Gateway's
limits are the local runtime's own (``lambda_functions``, ``api_server``).

Step Functions' 25,000 history events per Standard execution: moto records every event and has no limit.
On AWS (its guide, "Avoid reaching the history quota"), an execution at 24,999 events waits for the next
one: if event 25,000 is ``ExecutionSucceeded`` the execution succeeds, otherwise event 25,000 is
``ExecutionFailed`` (``States.Runtime``, "The execution reached the maximum number of history events
(25000).") and the execution fails; no Catch sees it. ``HISTORY_QUOTA`` (patches of moto's interpreter,
installed with the runtime's others) does the same."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .moto_patches import Patch, parameters, source_contains
from .moto_server import Wsgi

MAX_PUT_EVENTS_BYTES = 256 * 1024
PUT_EVENTS_TARGET = "AWSEvents.PutEvents"


def entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    return size + sum(len(str(resource).encode()) for resource in entry.get("Resources") or [])


def put_events_refusal(body: bytes) -> str | None:
    try:
        entries = json.loads(body or b"{}").get("Entries") or []
    except (ValueError, AttributeError):
        return None  # moto answers what is malformed
    if sum(entry_size(entry) for entry in entries if isinstance(entry, dict)) >= MAX_PUT_EVENTS_BYTES:
        return "Total size of the entries in the request is over the limit."
    return None


def enforced(app: Wsgi) -> Wsgi:
    """``app`` behind the quotas above."""

    def quotas(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != PUT_EVENTS_TARGET:
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        refusal = put_events_refusal(body)
        if refusal is None:
            return app(environ, start_response)
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "ValidationException")],
        )
        return [json.dumps({"__type": "ValidationException", "message": refusal}).encode()]

    return quotas


# -- Step Functions' history -------------------------------------------------------------------------

MAX_HISTORY_EVENTS = 25_000  # per Standard execution; a hard quota
HISTORY_FULL = {
    "error": "States.Runtime",
    "cause": f"The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS}).",
}
_EXECUTION = "_lipsync_execution"  # on an event manager: its execution's environment (Standard only)
_FULL = "_lipsync_history_full"  # on an event manager: set once its history reached the quota
_MANAGERS_LOCK = threading.Lock()


def _manager_lock(manager: Any) -> threading.Lock:
    """One lock per execution's history (its branches share it), so the count and the event agree."""
    with _MANAGERS_LOCK:
        lock: threading.Lock = manager.__dict__.setdefault("_lipsync_history_lock", threading.Lock())
        return lock


def bound_history(env: Any) -> Any:
    """``env`` (an execution's environment) failed when its history reaches the quota (Standard
    executions only: Express workflows keep no history)."""
    if env.is_standard_workflow():
        env.event_manager.__dict__[_EXECUTION] = env
    return env


def _linked(make_environment: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def environment_with_its_history(worker: Any) -> Any:
        return bound_history(make_environment(worker))

    return environment_with_its_history


def _bounded(add_event: Callable[..., int]) -> Callable[..., int]:
    from moto.stepfunctions.parser.api import HistoryEventType

    def add_event_within_quota(
        manager: Any,
        context: Any,
        event_type: Any,
        event_details: Any = None,
        timestamp: Any = None,
        update_source_event_id: bool = True,
    ) -> int:
        execution = manager.__dict__.get(_EXECUTION)
        if execution is None:
            return add_event(manager, context, event_type, event_details, timestamp, update_source_event_id)
        with _manager_lock(manager):
            if manager.__dict__.get(_FULL):
                return MAX_HISTORY_EVENTS  # the execution has failed: nothing more is recorded
            if (
                manager._event_id_gen._next_id < MAX_HISTORY_EVENTS
                or event_type == HistoryEventType.ExecutionSucceeded
            ):
                return add_event(
                    manager, context, event_type, event_details, timestamp, update_source_event_id
                )
            manager.__dict__[_FULL] = True
            event_id = add_event(
                manager,
                context,
                HistoryEventType.ExecutionFailed,
                {"executionFailedEventDetails": dict(HISTORY_FULL)},
            )
        # The state in flight finishes what it was doing (Python cannot cut it short); nothing after it
        # runs, and whatever error its end raises, the execution's stays this one (``_history_wins``).
        execution.set_error(dict(HISTORY_FULL))
        return event_id

    return add_event_within_quota


def _history_wins(set_error: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def set_error_unless_history_full(env: Any, error: Any) -> None:
        set_error(env, dict(HISTORY_FULL) if env.event_manager.__dict__.get(_FULL) else error)

    return set_error_unless_history_full


_EVENTS = "moto.stepfunctions.parser.asl.eval.event.event_manager"
HISTORY_QUOTA = (
    Patch(
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker",
        "_get_evaluation_environment",
        _linked,
        why="a Standard execution's history knows its execution (to fail it at 25,000 events)",
        expects=(parameters("self"), source_contains("return Environment(")),
    ),
    Patch(
        f"{_EVENTS}:EventManager",
        "add_event",
        _bounded,
        why="an execution fails at 25,000 history events, as on AWS",
        expects=(
            parameters(
                "self", "context", "event_type", "event_details", "timestamp", "update_source_event_id"
            ),
            source_contains("event_id: int = self._event_id_gen.get()"),
            source_contains("self._next_id += 1", where=f"{_EVENTS}:EventIdGenerator.get"),
        ),
    ),
    Patch(
        "moto.stepfunctions.parser.asl.eval.environment:Environment",
        "set_error",
        _history_wins,
        why="an execution failed by its history stays failed by it",
        expects=(
            parameters("self", "error"),
            source_contains("self._program_state = ProgramError(error=error)"),
            source_contains(
                "while env.is_running():",
                "env.set_error(",
                where="moto.stepfunctions.parser.asl.component.program.program:Program._eval_body",
            ),
        ),
    ),
)
