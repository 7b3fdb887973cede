"""The lip-sync stack: composes one construct per concern."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from .config import StackConfig
from .credentials import VolcCredentials
from .entry_points import EntryPoints
from .events import JobEvents
from .functions import EntryFunctions, FunctionFactory, WorkflowFunctions
from .monitoring import Monitoring
from .nag import acknowledge_findings
from .signing_layer import SigningLayer
from .storage import Storage
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
        entry_points = EntryPoints(
            self,
            "EntryPoints",
            config=config,
            bucket=storage.bucket,
            bus=job_events.bus,
            start=entry_functions.start,
            api_function=entry_functions.api,
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
            },
            failed_deliveries=entry_functions.failed_deliveries,
        )

        for name, value in {
            "BucketName": storage.bucket.bucket_name,
            "EventBusName": job_events.bus.event_bus_name,
            "JobTableName": storage.table.table_name,
            "StateMachineArn": workflow.state_machine.state_machine_arn,
            "SecretArn": credentials.secret.secret_arn,
            "ApiUrl": entry_points.api.url,
            "AlarmTopicArn": monitoring.topic.topic_arn,
        }.items():
            cdk.CfnOutput(self, name, value=value)
        acknowledge_findings(self)
