"""Caches for work moto repeats on every request, installed like the seams and checked the same way.

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
import importlib
import inspect
import sys
import threading
from typing import Any

from .seams import MotoSeamError

_TASKS = "moto.stepfunctions.parser.asl.component.state.exec.state_task"
TASK_MODULES = (f"{_TASKS}.lambda_eval_utils", f"{_TASKS}.service.state_task_service_events")


def _original(function: Any) -> Any:
    return getattr(function, "__lipsync_original__", function)


def check_caches() -> None:
    """Raise ``MotoSeamError`` unless moto still has the shapes cached here."""
    from moto.core import responses
    from moto.core.base_backend import BackendDict
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    problems = []
    if "with backend_lock:" not in inspect.getsource(_original(BackendDict._create_account_specific_backend)):
        problems.append("BackendDict._create_account_specific_backend changed")
    if list(inspect.signature(_original(boto_client.boto_client_for)).parameters) != [
        "region",
        "service",
        "state_credentials",
    ]:
        problems.append("boto_client_for changed its signature")
    if "method_names_from_class(self.__class__)" not in inspect.getsource(responses.BaseResponse):
        problems.append("BaseResponse no longer calls method_names_from_class")
    if "AmazonStateLanguageParser.parse(" not in inspect.getsource(
        _original(ExecutionWorker._get_evaluation_entrypoint)
    ):
        problems.append("ExecutionWorker no longer parses its definition in _get_evaluation_entrypoint")
    if "backends.list_of_moto_modules()" not in inspect.getsource(
        DomainDispatcherApplication.get_backend_for_host
    ):
        problems.append("the server's dispatcher no longer calls list_of_moto_modules")
    entry = inspect.getsource(ThreadedMotoServer._server_entry)
    if "make_server(" not in entry or ".serve_forever()" not in entry:
        problems.append("ThreadedMotoServer no longer makes its server with make_server and serve_forever")
    if not isinstance(inspect.getattr_static(EvalComponent, "heap_key", None), property):
        problems.append("EvalComponent.heap_key is no longer a property")
    if problems:
        raise MotoSeamError("the local runtime's moto caches moved: " + "; ".join(problems))


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


class MotoCaches:
    """``install()`` patches moto; ``uninstall()`` puts it back as it was."""

    def __init__(self) -> None:
        check_caches()
        self._originals: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()

    def install(self) -> MotoCaches:
        from moto import backends
        from moto.core import responses
        from moto.core.base_backend import BackendDict
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.asl.utils import boto_client
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        # Every module that imported boto_client_for by name (the task states) must be loaded first.
        for name in TASK_MODULES:
            importlib.import_module(name)

        original_client_for = boto_client.boto_client_for
        clients: dict[tuple[str, str, str], Any] = {}
        lock = self._lock

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            if state_credentials is not None:  # a task with its own credentials: nothing to share
                return original_client_for(region, service, state_credentials)
            key = (region, service, str(getattr(boto_client, "moto_server_port")()))  # noqa: B009
            with lock:
                if key not in clients:
                    clients[key] = original_client_for(region, service)
                return clients[key]

        for module in [m for name, m in list(sys.modules.items()) if name.startswith("moto.stepfunctions")]:
            if getattr(module, "boto_client_for", None) is original_client_for:
                self._patch(module, "boto_client_for", boto_client_for, original_client_for)

        method_names = getattr(responses, "method_names_from_class")  # noqa: B009 - not re-exported
        self._patch(responses, "method_names_from_class", functools.cache(method_names), method_names)

        create_backend = BackendDict._create_account_specific_backend

        def account_backend(self: Any, account_id: str) -> None:
            if account_id not in self:  # dict membership: no lock, no comparisons
                create_backend(self, account_id)

        self._patch(BackendDict, "_create_account_specific_backend", account_backend, create_backend)

        modules = tuple(backends.list_of_moto_modules())  # moto's installed files do not change
        self._patch(backends, "list_of_moto_modules", lambda: modules, backends.list_of_moto_modules)

        @functools.lru_cache(maxsize=16)
        def parsed(definition: str) -> Any:
            program = AmazonStateLanguageParser.parse(definition)[0]
            _warm_heap_keys(program)
            return program

        def entrypoint(self: Any) -> Any:
            with lock:  # parse once even when many executions start together
                return parsed(self._evaluation_details.state_machine_details.definition)

        original_entrypoint = ExecutionWorker._get_evaluation_entrypoint
        self._patch(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint, original_entrypoint)
        return self

    def _patch(self, owner: Any, name: str, value: Any, original: Any) -> None:
        self._originals.append((owner, name, original))
        value.__lipsync_original__ = original  # so check_caches() inspects moto's own code
        setattr(owner, name, value)

    def uninstall(self) -> None:
        for owner, name, value in reversed(self._originals):
            setattr(owner, name, value)
        self._originals.clear()


def quick_stop_moto_server(ip_address: str, port: int) -> Any:
    """moto's ``ThreadedMotoServer``, whose ``stop()`` returns within 50 ms instead of up to 0.5 s:
    werkzeug's ``serve_forever`` notices a shutdown only at its next poll."""
    from moto.moto_server import threaded_moto_server

    module: Any = threaded_moto_server  # make_server is imported there, not re-exported
    original = module.make_server

    def make_server(*args: Any, **kwargs: Any) -> Any:
        server = original(*args, **kwargs)
        server.serve_forever = functools.partial(server.serve_forever, poll_interval=0.05)
        return server

    server = threaded_moto_server.ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    module.make_server = make_server
    try:
        server.start()  # make_server is called before start() returns
    finally:
        module.make_server = original
    return server
