"""The lip-sync stack: composes one construct per concern."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from .batches import Batches
from .config import StackConfig
from .credentials import VolcCredentials
from .entry_points import EntryPoints
from .events import JobEvents
from .functions import EntryFunctions, FunctionFactory, WorkflowFunctions
from .input_reader import InputReader
from .monitoring import Monitoring
from .nag import acknowledge_findings
from .reconciliation import Reconciliation
from .signing_layer import SigningLayer
from .storage import Storage
from .webhooks import Webhooks
from .workflow import JobWorkflow


class LipSyncStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StackConfig | None = None, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        config = config or StackConfig.from_context(self)
        self.config = config
        storage = Storage(self, "Storage", config=config)
        credentials = VolcCredentials(self, "Credentials", config=config)
        layers = SigningLayer(self, "SigningLayer", target=config.lambda_target)
        job_events = JobEvents(self, "Events", config=config)
        factory = FunctionFactory(
            config=config,
            layers=layers,
            bucket=storage.bucket,
            table=storage.table,
            flow_table=storage.flow_table,
            secret=credentials.secret,
            event_bus_name=job_events.bus.event_bus_name,
        )
        functions = WorkflowFunctions(
            self,
            "Functions",
            config=config,
            factory=factory,
            bucket=storage.bucket,
            table=storage.table,
            secret=credentials.secret,
        )
        InputReader(self, "InputReader", bucket=storage.bucket, submit=functions.submit)
        workflow = JobWorkflow(self, "Workflow", config=config, functions=functions, bus=job_events.bus)
        entry_functions = EntryFunctions(
            self,
            "EntryFunctions",
            config=config,
            factory=factory,
            bucket=storage.bucket,
            table=storage.table,
            secret=credentials.secret,
            bus=job_events.bus,
            state_machine=workflow.state_machine,
        )
        reconciliation = Reconciliation(
            self,
            "Reconciliation",
            factory=factory,
            table=storage.table,
            bus=job_events.bus,
            state_machine=workflow.state_machine,
            dead_letters=entry_functions.failed_deliveries,
        )
        entry_points = EntryPoints(
            self,
            "EntryPoints",
            config=config,
            bucket=storage.bucket,
            bus=job_events.bus,
            start=entry_functions.start,
            api_function=entry_functions.api,
            dead_letters=entry_functions.failed_deliveries,
        )
        Batches(
            self,
            "Batches",
            factory=factory,
            table=storage.table,
            bus=job_events.bus,
            bucket=storage.bucket,
            api_function=entry_functions.api,
            dead_letters=entry_functions.failed_deliveries,
        )
        webhooks = Webhooks(
            self,
            "Webhooks",
            factory=factory,
            table=storage.table,
            bus=job_events.bus,
            dead_letters=entry_functions.failed_deliveries,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            state_machine=workflow.state_machine,
            functions={
                "submit": functions.submit,
                "poll": functions.poll,
                "copy_result": functions.copy_result,
                "record_failure": functions.record_failure,
                "start": entry_functions.start,
                "api": entry_functions.api,
                "reconcile": reconciliation.function,
            },
            failed_deliveries=entry_functions.failed_deliveries,
            api=entry_points.api,
            api_access_logs=entry_points.access_logs,
            table=storage.table,
        )

        for name, (value, description) in {
            "BucketName": (
                storage.bucket.bucket_name,
                "Media bucket: inputs under inputs/, job manifests under jobs/, results under outputs/",
            ),
            "EventBusName": (
                job_events.bus.event_bus_name,
                "Event bus: put 'LipSync Job Requested' here; job outcomes are announced here",
            ),
            "JobTableName": (storage.table.table_name, "DynamoDB table of job records (one item per job)"),
            "StateMachineArn": (
                workflow.state_machine.state_machine_arn,
                "The job workflow (one execution per job)",
            ),
            "SecretArn": (
                credentials.secret.secret_arn,
                "Volcengine access key pair (JSON); set it after deploying",
            ),
            "ApiUrl": (
                entry_points.api.url,
                "Jobs API base URL (IAM: SigV4-sign for execute-api): POST /jobs, GET /jobs, POST /uploads",
            ),
            "AlarmTopicArn": (monitoring.topic.topic_arn, "SNS topic the alarms notify; subscribe to it"),
            "WebhookSecretArn": (
                webhooks.secret.secret_arn,
                "The key that signs job webhooks (verify_webhook)",
            ),
        }.items():
            cdk.CfnOutput(self, name, value=value, description=description)
        acknowledge_findings(self)
