"""``lipsync up``: the whole pipeline on one machine. moto in server mode on 127.0.0.1 with its Step
Functions interpreter on, the synthesized stack provisioned into it, our handlers in-process behind
moto's Lambda seam, the emulator, the triggers delivered as AWS would, and the API served locally."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests

from lipsync.emulator import Emulator, ServiceConfig
from lipsync_core.jobs.domain.flow_limits import FlowLimits

from . import quotas
from .api_server import ApiServer, Authorizer
from .iam.gate import IamGate
from .iam.invocations import InvokePermissions
from .moto_server import quick_stop_moto_server
from .stack import MOTO_CONFIG, LocalStack
from .synth import synthesized_template
from .template import REGION
from .triggers import TriggerDispatcher
from .usage import INTERNAL, LocalUsage, transitions

# Locally, a production wait of 15 s lasts 15 * TIME_SCALE real seconds, and the emulator runs tasks
# EMULATOR_SPEED times faster than the service: one definition, different configuration.
TIME_SCALE = 0.05
EMULATOR_SPEED = 20.0


@dataclass(frozen=True)
class LocalPorts:
    """Where ``lipsync up`` listens on 127.0.0.1 (0: a free port)."""

    aws: int = 0
    api: int = 0
    emulator: int = 0


@dataclass(frozen=True)
class LocalEndpoints:
    aws: str
    api: str
    emulator: str
    bucket: str
    bus: str
    table: str
    state_machine_arn: str
    webhook_secret_arn: str  # the key webhooks are signed with
    failed_deliveries_queue_url: str  # deliveries that failed after every retry (webhooks among them)


class LocalRuntime:
    def __init__(
        self,
        *,
        template_path: Path | None = None,
        time_scale: float = TIME_SCALE,
        emulator_speed: float = EMULATOR_SPEED,
        emulator_config: ServiceConfig | None = None,
        ports: LocalPorts | None = None,
        authorizer: Authorizer | None = None,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.template_path = template_path
        self.time_scale = time_scale
        self.ports = ports or LocalPorts()
        self._authorizer, self._on_request = authorizer, on_request
        self.emulator = Emulator(speed=emulator_speed, config=emulator_config, port=self.ports.emulator)
        # IAM as the template defines it: every request to moto is authorised (iam/gate.py).
        self.gate = IamGate()
        self.stack: LocalStack | None = None
        self.dispatcher: TriggerDispatcher | None = None
        self.api: ApiServer | None = None
        self._moto: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._events: list[dict[str, Any]] = []  # announced events read so far (the queue forgets them)
        self.endpoints: LocalEndpoints | None = None

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def start(self) -> LocalEndpoints:
        logging.getLogger("moto").setLevel(logging.CRITICAL)  # every caught task error is logged at ERROR
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        template_path = self.template_path or synthesized_template()
        try:
            self._moto = quick_stop_moto_server(
                "127.0.0.1", self.ports.aws, (self.gate.wrap, quotas.enforced)
            )
            host, port = self._moto.get_host_and_port()
            aws = f"http://{host}:{port}"
            # moto's backends are process-wide: start from nothing, whatever ran in this process before.
            requests.post(f"{aws}/moto-api/reset", timeout=10).raise_for_status()
            requests.post(f"{aws}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
            # MOTO_PORT: where moto's Step Functions interpreter sends its own Lambda calls in server mode.
            for name, value in {
                "AWS_ENDPOINT_URL": aws,
                "MOTO_PORT": str(port),
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "local",
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "local",
            }.items():
                self._set_env(name, value)
            self._saved_env.setdefault("AWS_SESSION_TOKEN", os.environ.pop("AWS_SESSION_TOKEN", None))
            self.emulator.start()
            self.stack = LocalStack(
                template_path,
                volc_endpoint=self.emulator.endpoint,
                volc_credentials=self.emulator.principal,
                time_scale=self.time_scale,
                flow_limits=FlowLimits.uniform(
                    qps=self.emulator.service.config.qps,
                    max_unfinished=self.emulator.service.config.concurrency,
                ),
                gate=self.gate,
            )
            stack = self.stack.start()
            permissions = InvokePermissions.of(self.stack.template)
            self.dispatcher = TriggerDispatcher(
                self.stack.template, self.stack.registry, self.time_scale, permissions
            )
            self.dispatcher.mirror()
            self.dispatcher.start()
            registry = self.stack.registry
            api = registry.named("api")
            self.api = ApiServer(
                lambda event, _: registry.call(api.name, event, synchronous=True),
                port=self.ports.api,
                authorizer=self._authorizer,
                on_request=self._on_request,
                invocable=permissions.api_may_invoke(api.name),
            ).start()
        except BaseException:
            self.stop()
            raise
        self.endpoints = LocalEndpoints(
            aws=aws,
            api=self.api.url,
            emulator=self.emulator.endpoint,
            bucket=stack.bucket,
            bus=stack.bus,
            table=stack.table,
            state_machine_arn=stack.state_machine_arn,
            webhook_secret_arn=stack.webhook_secret_arn,
            failed_deliveries_queue_url=stack.failed_deliveries_queue_url,
        )
        return self.endpoints

    def stop(self) -> None:
        for stop in (
            self.api.stop if self.api else None,
            self.dispatcher.stop if self.dispatcher else None,
            self.stack.stop if self.stack else None,
            self.emulator.close,
            self._moto.stop if self._moto else None,
        ):
            if stop is not None:
                try:
                    stop()
                except Exception:  # keep stopping the rest
                    logging.getLogger(__name__).exception("while stopping the local runtime")
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- helpers for callers -------------------------------------------------------------------

    def client(self, service: str) -> Any:
        assert self.endpoints
        return boto3.client(service, endpoint_url=self.endpoints.aws, region_name=REGION, config=INTERNAL)

    def wait_for_event(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float = 120.0
    ) -> dict[str, Any]:
        """The first announced event that ``matches``, waited for on the capture queue (long polling)."""
        assert self.stack is not None
        deadline = time.monotonic() + timeout
        while True:
            for event in self._events:
                if matches(event):
                    return event
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching event within {timeout} s")
            self._events.extend(self.stack.receive_events(wait_seconds=1))

    def wait_for_terminal_event(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        return self.wait_for_event(
            lambda e: e["detail"].get("job_id") == job_id and e["detail-type"] in TERMINAL_TYPES, timeout
        )

    def usage(self) -> LocalUsage:
        """What the stack has asked of AWS so far (``usage``): requests and DynamoDB units as moto
        received them, the functions' invocations, and the transitions of every execution."""
        assert self.stack is not None
        assert self.endpoints is not None
        stepfunctions = self.client("stepfunctions")
        arns = [
            execution["executionArn"]
            for page in stepfunctions.get_paginator("list_executions").paginate(
                stateMachineArn=self.endpoints.state_machine_arn
            )
            for execution in page["executions"]
        ]
        histories = [self.stack.history(arn) for arn in arns]
        return LocalUsage(
            self.stack.usage.counted(),
            self.stack.registry.counted(),
            transitions=sum(transitions(history) for history in histories),
            executions=len(arns),
            history_events=sum(len(history) for history in histories),
        )

    def events(self) -> list[dict[str, Any]]:
        """Every event announced so far."""
        assert self.stack is not None
        self._events.extend(self.stack.announced_events())
        return list(self._events)


TERMINAL_TYPES = {"LipSync Job Succeeded", "LipSync Job Failed", "LipSync Job Cancelled"}
