"""The synthesized stack, provisioned into moto from ``cdk.out`` and run with our handlers.

What runs here is what deploys: the state machine is the template's own definition, the functions
are the template's functions (their handlers and resolved environments), the bus, bucket, table and
secret are the template's. Only the Volcengine endpoint, the credentials and time differ.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from botocore.credentials import ReadOnlyCredentials

from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.volc.signer import Credentials

from . import moto_caches, quotas
from .aws_events import execution_status_change
from .iam.acting import CREDENTIALS_PER_CONTEXT
from .iam.gate import IamGate
from .iam.principals import stack_policies
from .lambda_functions import FunctionRegistry
from .moto_patches import MotoPatches
from .seams import Seams
from .synth import sources
from .template import REGION, TABLE, Template
from .usage import INTERNAL, UsageMeter

ROOT = sources.ROOT  # the repository; once installed, the lipsync_infra package (which ships functions/)
logger = logging.getLogger(__name__)
FUNCTIONS_ROOT = sources.FUNCTIONS_ROOT
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
EVENTS_QUEUE = "lipsync-local-events"
# Local logging and metrics: quiet by default (the CLI shows progress its own way).
LOCAL_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "ALLOW_LOCAL_URLS": "true",
    "RESULT_URL_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


@contextmanager
def local_aws() -> Iterator[None]:
    """moto in this process, with Step Functions executing and Lambda docker-free."""
    from moto import mock_aws

    with mock_aws(config=MOTO_CONFIG):
        yield


def load_function_module(name: str) -> ModuleType:
    """``functions/<name>/handler.py`` as a module of its own (each function's file is ``handler.py``)."""
    path = FUNCTIONS_ROOT / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"lipsync_local_functions.{name}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_handler(name: str) -> Any:
    return load_function_module(name).handler


@dataclass(frozen=True)
class Endpoints:
    bucket: str
    table: str
    bus: str
    state_machine_arn: str
    secret_arn: str
    events_queue_url: str
    webhook_secret_arn: str = ""
    failed_deliveries_queue_url: str = ""  # what Lambda's on-failure destinations keep


class LocalStack:
    def __init__(
        self,
        template_path: Path,
        *,
        volc_endpoint: str,
        volc_credentials: Credentials,
        time_scale: float = 0.0,
        environment: dict[str, str] | None = None,
        on_wait: Callable[[float], Any] | None = None,
        flow_limits: FlowLimits | None = None,
        gate: IamGate | None = None,
    ) -> None:
        self.template = Template(template_path)
        self.gate = gate  # IAM enforced by the moto server (server mode): functions act as their roles
        self.function_roles: dict[str, str] = {}  # function name -> its role's ARN
        self.volc_endpoint = volc_endpoint
        self.volc_credentials = volc_credentials
        self.registry = FunctionRegistry()
        self.seams = Seams(
            self.registry, time_scale=time_scale, on_wait=on_wait, on_terminated=self._announce_end
        )
        acting = [CREDENTIALS_PER_CONTEXT] if gate is not None else []
        # The meter first: its DynamoDB count reads items inside the seams' DynamoDB lock.
        self.usage = UsageMeter()
        self.patches = MotoPatches(
            [
                *self.usage.patches(),
                *self.seams.patches(),
                *quotas.HISTORY_QUOTA,
                *moto_caches.caches(),
                *acting,
            ]
        )
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        # Flow control follows the emulator's limits here (none unless given), not the template's.
        self.extra_environment = {
            "FLOW_LIMITS": flow_limits.to_json() if flow_limits else "{}",
            "LOCAL_TIME_SCALE": str(time_scale if time_scale > 0 else 1.0),
            **(environment or {}),
        }
        self.endpoints: Endpoints | None = None
        self._saved_environment: dict[str, str | None] = {}

    # -- provisioning ----------------------------------------------------------------------------

    def start(self) -> Endpoints:
        try:
            return self._provision()
        except BaseException:
            self.stop()
            raise

    def _provision(self) -> Endpoints:
        self.patches.install()
        template = self.template
        s3 = boto3.client("s3", region_name=REGION, config=INTERNAL)
        for lid in template.of_type("AWS::S3::Bucket"):
            name = template.physical[lid].name
            s3.create_bucket(Bucket=name)
            if (
                template.resources[lid]["Properties"].get("VersioningConfiguration", {}).get("Status")
                == "Enabled"
            ):
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for lid in template.of_type(TABLE):
            self._create_table(lid)
        secret_arn = webhook_secret_arn = ""
        for lid in template.of_type("AWS::SecretsManager::Secret"):
            arn = self._create_secret(lid)
            secret_arn = arn if self._holds_volc_keys(lid) else secret_arn
            webhook_secret_arn = arn if "/Webhooks/" in template.cdk_path(lid) else webhook_secret_arn
        sqs = boto3.client("sqs", region_name=REGION)
        queues = {
            lid: sqs.create_queue(QueueName=template.physical[lid].name)["QueueUrl"]
            for lid in template.of_type("AWS::SQS::Queue")
        }
        failed_deliveries = next(
            (url for lid, url in queues.items() if "/FailedDeliveries/" in template.cdk_path(lid)), ""
        )
        bus = ""
        for lid in template.of_type("AWS::Events::EventBus"):
            bus = template.physical[lid].name
            boto3.client("events", region_name=REGION, config=INTERNAL).create_event_bus(Name=bus)
        queue_url = self._capture_events(bus)
        sessions = self._enforce_iam()
        self._register_functions(sessions)
        [machine] = template.of_type("AWS::StepFunctions::StateMachine")
        state_machine_arn = self._create_state_machine(machine)
        media = self._media_bucket()
        table = template.table("Jobs")
        self.endpoints = Endpoints(
            bucket=media,
            table=template.physical[table].name,
            bus=bus,
            state_machine_arn=state_machine_arn,
            secret_arn=secret_arn,
            events_queue_url=queue_url,
            webhook_secret_arn=webhook_secret_arn,
            failed_deliveries_queue_url=failed_deliveries,
        )
        return self.endpoints

    def stop(self) -> None:
        self._stop_running_executions()
        self.patches.uninstall()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from lipsync_core.jobs import clients

        clients.reset()

    def _stop_running_executions(self) -> None:
        """Executions run in moto's threads: end them before moto goes away."""
        if self.endpoints is None:
            return
        client = boto3.client("stepfunctions", region_name=REGION, config=INTERNAL)
        running = client.list_executions(
            stateMachineArn=self.endpoints.state_machine_arn, statusFilter="RUNNING"
        )["executions"]
        for execution in running:
            try:
                client.stop_execution(
                    executionArn=execution["executionArn"], cause="the local stack is stopping"
                )
            except Exception as error:  # it may have ended meanwhile: stopping is best effort
                logger.debug("could not stop %s: %s", execution["executionArn"], error)
        for execution in running:
            self.seams.wait_for(execution["executionArn"], timeout=30)

    def _announce_end(self, execution: Any) -> None:
        """As Step Functions does on AWS: every execution's end goes to the default bus."""
        self.client("events").put_events(Entries=[execution_status_change(execution)])

    def _media_bucket(self) -> str:
        for lid in self.template.of_type("AWS::S3::Bucket"):
            if "/Media/" in self.template.cdk_path(lid):
                return self.template.physical[lid].name
        raise LookupError("the template has no media bucket")

    def _create_table(self, logical_id: str) -> None:
        boto3.client("dynamodb", region_name=REGION, config=INTERNAL).create_table(
            TableName=self.template.physical[logical_id].name, **self.template.table_definition(logical_id)
        )

    def _holds_volc_keys(self, logical_id: str) -> bool:
        generated = self.template.resources[logical_id]["Properties"].get("GenerateSecretString", {})
        return "access_key_id" in str(generated.get("SecretStringTemplate", ""))

    def _create_secret(self, logical_id: str) -> str:
        """The Volcengine secret holds the emulator's keys; any other (the webhook key) a fresh value,
        as Secrets Manager would generate it."""
        props = self.template.resources[logical_id]["Properties"]
        value: dict[str, str] = {
            "access_key_id": self.volc_credentials.access_key_id,
            "secret_access_key": self.volc_credentials.secret_access_key,
        }
        if self.volc_credentials.session_token:
            value["session_token"] = self.volc_credentials.session_token
        text = (
            json.dumps(value)
            if self._holds_volc_keys(logical_id)
            else base64.b64encode(os.urandom(24)).decode()
        )
        arn = boto3.client("secretsmanager", region_name=REGION, config=INTERNAL).create_secret(
            Name=props.get("Name", logical_id), SecretString=text
        )["ARN"]
        # moto picks the ARN's suffix: every later Ref to the secret must resolve to it.
        physical = self.template.physical[logical_id]
        self.template.physical[logical_id] = type(physical)(logical_id, physical.type, arn, arn)
        return str(arn)

    def _capture_events(self, bus: str) -> str:
        """Every event on the bus also lands in an SQS queue, so callers can read what was announced."""
        sqs = boto3.client("sqs", region_name=REGION, config=INTERNAL)
        queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name=REGION, config=INTERNAL)
        events.put_rule(
            Name="lipsync-local-capture",
            EventBusName=bus,
            EventPattern=json.dumps({"source": [{"prefix": ""}]}),
        )
        events.put_targets(
            Rule="lipsync-local-capture", EventBusName=bus, Targets=[{"Id": "capture", "Arn": queue_arn}]
        )
        return str(queue_url)

    def _enforce_iam(self) -> dict[str, ReadOnlyCredentials]:
        """Each role of the template gets a session (moto's STS), known to the gate as that role; the
        gate then authorises every request with the template's policies. Sessions by role ARN."""
        if self.gate is None:
            return {}
        policies = stack_policies(self.template)
        self.gate.enforce(policies, self._secret_arn)
        sts = boto3.client("sts", region_name=REGION)
        sessions = {}
        for role_arn, role in policies.roles.items():
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=role.name[-64:])["Credentials"]
            sessions[role_arn] = ReadOnlyCredentials(
                answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]
            )
            self.gate.register(answer["AccessKeyId"], role_arn, role.name)
        self.function_roles = policies.function_roles
        return sessions

    def _secret_arn(self, secret_id: str) -> str:
        """A secret's full ARN from its name, partial ARN or ARN (what IAM authorises)."""
        for lid in self.template.of_type("AWS::SecretsManager::Secret"):
            arn = self.template.physical[lid].arn
            name = arn.split(":secret:", 1)[1].rsplit("-", 1)[0]
            if secret_id in (arn, name) or arn.startswith(f"{secret_id}-"):
                return arn
        return secret_id

    def _register_functions(self, sessions: dict[str, ReadOnlyCredentials]) -> None:
        functions: list[tuple[str, str, dict[str, Any]]] = []
        environment: dict[str, str] = {}
        for lid in self.template.of_type("AWS::Lambda::Function"):
            props = self.template.resources[lid]["Properties"]
            name = self.template.cdk_path(lid).split("/")[-2]
            if not (FUNCTIONS_ROOT / name / "handler.py").exists():
                continue  # CDK's own helpers (bucket notifications): AWS runs them, not us
            resolved = self.template.resolve(props.get("Environment", {}).get("Variables", {}))
            environment.update({k: str(v) for k, v in resolved.items() if k != "POWERTOOLS_SERVICE_NAME"})
            functions.append((self.template.physical[lid].name, name, props))
        roles = self.function_roles
        environment.update(LOCAL_ENVIRONMENT)
        environment["VOLC_ENDPOINT"] = self.volc_endpoint
        environment.update(self.extra_environment)
        # Metrics are disabled locally; Powertools still warns on each empty flush.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # Before the handlers are imported: Powertools reads its settings when its objects are made.
        for name, value in environment.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        from lipsync_core.jobs import clients

        clients.reset()
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

        for physical_name, name, props in functions:
            module = load_function_module(name)  # once now, so that a broken handler fails the start
            self.registry.register(
                physical_name,
                partial(load_handler, name),
                serial=isinstance(getattr(module, "app", None), BaseRouter),
                memory=int(props.get("MemorySize", 128)),
                timeout=int(props.get("Timeout", 3)),
                credentials=sessions.get(roles.get(physical_name, "")),
            )

    def _create_state_machine(self, logical_id: str) -> str:
        props = self.template.resources[logical_id]["Properties"]
        definition = self.template.resolve(props["DefinitionString"])
        for key, value in self.template.resolve(props.get("DefinitionSubstitutions", {})).items():
            definition = definition.replace("${" + key + "}", str(value))
        role = self.template.resolve(props["RoleArn"])
        answer = boto3.client("stepfunctions", region_name=REGION, config=INTERNAL).create_state_machine(
            name=self.template.physical[logical_id].arn.rsplit(":", 1)[-1],
            definition=definition,
            roleArn=role,
            type=props.get("StateMachineType", "STANDARD"),
        )
        return str(answer["stateMachineArn"])

    def client(self, service: str) -> Any:
        """One client per service (clients are thread-safe; making one costs milliseconds)."""
        with self._clients_lock:  # boto3's default session is not thread-safe while it makes clients
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=REGION, config=INTERNAL)
            return self._clients[service]

    # -- running jobs ----------------------------------------------------------------------------

    def start_job(self, job_id: str, request: dict[str, Any]) -> str:
        assert self.endpoints is not None
        answer = self.client("stepfunctions").start_execution(
            stateMachineArn=self.endpoints.state_machine_arn,
            name=job_id,
            input=json.dumps({"job_id": job_id, "request": request}),
        )
        return str(answer["executionArn"])

    def wait(self, execution_arn: str, timeout: float = 120.0) -> dict[str, Any]:
        if not self.seams.wait_for(execution_arn, timeout):
            raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
        return dict(self.client("stepfunctions").describe_execution(executionArn=execution_arn))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        client = self.client("stepfunctions")
        return list(client.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"])

    def receive_events(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """One batch of events from the capture queue (long polling up to ``wait_seconds``), removed."""
        assert self.endpoints is not None
        sqs = self.client("sqs")
        answer = sqs.receive_message(
            QueueUrl=self.endpoints.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        events = []
        for message in answer.get("Messages", []):
            events.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=self.endpoints.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return events

    def announced_events(self) -> list[dict[str, Any]]:
        """Events put on the bus so far (the capture queue drained)."""
        events: list[dict[str, Any]] = []
        while batch := self.receive_events():
            events.extend(batch)
        return events
