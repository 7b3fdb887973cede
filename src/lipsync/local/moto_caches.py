"""Caches for work moto repeats on every request, as patches (see ``moto_patches``).

Profiling 200 concurrent local jobs showed the interpreter's time going to work whose result never
changes while the local runtime runs:

1. a new boto3 client for every Step Functions task (``boto_client_for``): clients are thread-safe
   and the endpoint is fixed, so one per (region, service, endpoint) serves every task;
2. ``method_names_from_class``, which inspects a responses class on every request;
3. ``list_of_moto_modules``, which lists moto's package folder (and stats each entry) for every
   request in server mode, while holding the server's one dispatch lock;
4. ``BackendDict._create_account_specific_backend``, run on every backend lookup: it takes moto's
   global backend lock and compares the dict with every registered one (by value) even when the
   account's backend exists; it now returns at once then (a reset empties the dict, so a lookup
   after it takes moto's own path again);
5. the ASL parser, which parses the same definition again for every execution. The parsed program is
   shared: its components hold no per-execution state (that lives in the execution's environment)
   except a lazily made heap key, which is made here, before the program is shared.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .moto_patches import Patch, is_property, parameters, source_contains

# The task states the stack's workflow uses (Lambda, EventBridge) import boto_client_for by name.
_TASKS = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
TASK_MODULES = (f"{_TASKS}.lambda_eval_utils", f"{_TASKS}.service.state_task_service_events")


def _one_client_per_endpoint(client_for: Callable[..., Any]) -> Callable[..., Any]:
    from moto.stepfunctions.parser.asl.utils import boto_client

    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if state_credentials is not None:  # a task with its own credentials: nothing to share
            return client_for(region, service, state_credentials)
        key = (region, service, str(getattr(boto_client, "moto_server_port")()))  # noqa: B009
        with lock:
            if key not in clients:
                clients[key] = client_for(region, service)
            return clients[key]

    return boto_client_for


def _existing_backend_at_once(create_backend: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def account_backend(backends: Any, account_id: str) -> None:
        if account_id not in backends:  # dict membership: no lock, no comparisons
            create_backend(backends, account_id)

    return account_backend


def _listed_once(list_modules: Callable[[], Any]) -> Callable[[], tuple[str, ...]]:
    modules = tuple(list_modules())  # moto's installed files do not change
    return lambda: modules


def _warm_heap_keys(root: Any) -> None:
    """Make every component's heap key now, in one thread, so executions sharing it agree."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, EvalComponent):
            _ = item.heap_key
        if isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("moto.stepfunctions"):
            stack.extend(vars(item).values())


def _parsed_once(_: Any) -> Callable[[Any], Any]:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    lock = threading.Lock()

    @functools.lru_cache(maxsize=16)
    def parsed(definition: str) -> Any:
        program = AmazonStateLanguageParser.parse(definition)[0]
        _warm_heap_keys(program)
        return program

    def entrypoint(worker: Any) -> Any:
        with lock:  # parse once even when many executions start together
            return parsed(worker._evaluation_details.state_machine_details.definition)

    return entrypoint


def caches() -> list[Patch]:
    """The caches, each with state of its own (clients, parsed programs) for one installation."""
    return [
        Patch(
            "moto.stepfunctions.parser.asl.utils.boto_client",
            "boto_client_for",
            _one_client_per_endpoint,
            why="one boto3 client per (region, service, endpoint) serves every task",
            expects=(parameters("region", "service", "state_credentials"),),
            also_in=TASK_MODULES,
        ),
        Patch(
            "moto.core.responses",
            "method_names_from_class",
            functools.cache,
            why="a responses class's methods, inspected once",
            expects=(
                source_contains(
                    "method_names_from_class(self.__class__)",
                    where="moto.core.responses:BaseResponse.call_action",
                ),
            ),
        ),
        Patch(
            "moto.backends",
            "list_of_moto_modules",
            _listed_once,
            why="moto's package folder, listed once",
            expects=(
                source_contains(
                    "backends.list_of_moto_modules()",
                    where="moto.moto_server.werkzeug_app:DomainDispatcherApplication.get_backend_for_host",
                ),
            ),
        ),
        Patch(
            "moto.core.base_backend:BackendDict",
            "_create_account_specific_backend",
            _existing_backend_at_once,
            why="an account's existing backend, found without moto's global lock",
            expects=(source_contains("with backend_lock:"),),
        ),
        Patch(
            "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker",
            "_get_evaluation_entrypoint",
            _parsed_once,
            why="a definition, parsed once for all its executions",
            expects=(
                source_contains("AmazonStateLanguageParser.parse("),
                is_property("moto.stepfunctions.parser.asl.component.eval_component:EvalComponent.heap_key"),
            ),
        ),
    ]
