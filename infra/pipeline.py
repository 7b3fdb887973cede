"""The whole lip-sync pipeline as one construct, for any CDK app: the ``LipSync`` stack is a thin wrapper
around it, and a team's own stack adds it the same way::

    from lipsync_infra.config import StackConfig
    from lipsync_infra.names import PipelineNames
    from lipsync_infra.pipeline import LipSyncPipeline, LipSyncPipelineProps

    LipSyncPipeline(self, "Dubbing", LipSyncPipelineProps(
        names=PipelineNames.from_prefix("dubbing"),  # bus, secret, alarms: dubbing…
        bucket=media_bucket,                         # or None: the pipeline makes its own
        config=StackConfig(submit_qps=2, job_deadline_seconds=3 * 3600),
    ))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .batches import Batches, BatchesProps
from .checkov import CheckovAcknowledgements
from .config import StackConfig
from .credentials import VolcCredentials
from .dispatching import Dispatching, DispatchingProps
from .entry_points import EntryPoints, EntryPointsProps
from .events import JobEvents
from .function_factory import FunctionFactory
from .functions import EntryFunctions, EntryFunctionsProps, WorkflowFunctions
from .monitoring import Monitoring, MonitoringProps
from .nag import acknowledge_findings, acknowledged
from .names import PipelineNames
from .preparation import Preparation
from .reconciliation import Reconciliation, ReconciliationProps
from .resources import DeliveryProps, PipelineResources
from .signing_layer import SigningLayer
from .signing_roles import SigningRole, input_reader, url_signer
from .storage import Storage, StorageProps
from .stores import PipelineStores
from .webhooks import Webhooks
from .workflow import JobWorkflow, WorkflowProps


@dataclass(frozen=True)
class LipSyncPipelineProps:
    # Physical names (event bus, credentials secret, alarms): two pipelines in one account and region
    # need different ones, PipelineNames.from_prefix gives a whole set from one name.
    names: PipelineNames = field(default_factory=PipelineNames.from_prefix)
    # Limits (flow control, job deadline, polling), the runtime and the other settings.
    config: StackConfig = field(default_factory=StackConfig)
    # The caller's bucket (versioned; inputs, manifests under jobs/ and results under outputs/ go
    # there), or None: the pipeline makes a private, versioned, logged one and retains it.
    bucket: s3.IBucket | None = None
    # The caller's bus (requests arrive and job events are announced there), or None: its own, named
    # names.event_bus. Pipelines sharing a bus need different event_source and request_sources.
    bus: events.IEventBus | None = None


class LipSyncPipeline(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, props: LipSyncPipelineProps | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        props = props or LipSyncPipelineProps()
        config, names = props.config, props.names
        self.storage = Storage(self, "Storage", StorageProps(config=config, bucket=props.bucket))
        self.credentials = VolcCredentials(self, "Credentials", names)
        layers = SigningLayer(self, "SigningLayer", target=config.lambda_target)
        bus = props.bus or JobEvents(self, "Events", names).bus
        stores = PipelineStores(
            config=config,
            names=names,
            bucket=self.storage.bucket,
            table=self.storage.table,
            flow_table=self.storage.flow_table,
            secret=self.credentials.secret,
            bus=bus,
        )
        self.factory = FunctionFactory(stores, layers)
        resources = PipelineResources(**vars(stores), factory=self.factory)
        shared = resources.shared()
        self.bus = bus
        self.functions = WorkflowFunctions(self, "Functions", resources)
        self.preparation = Preparation(self, "Preparation", resources)
        SigningRole(
            self, "InputReader", input_reader(resources, self.functions.submit, self.preparation.function)
        )
        self.workflow = JobWorkflow(
            self,
            "Workflow",
            WorkflowProps(
                **shared,
                functions=self.functions,
                prepare=self.preparation.function,
                join=self.preparation.join,
            ),
        )
        state_machine = self.workflow.state_machine
        self.entry_functions = EntryFunctions(
            self, "EntryFunctions", EntryFunctionsProps(**shared, state_machine=state_machine)
        )
        SigningRole(self, "UrlSigner", url_signer(resources, self.entry_functions.api))
        delivery = {**shared, "dead_letters": self.entry_functions.failed_deliveries}
        Reconciliation(self, "Reconciliation", ReconciliationProps(**delivery, state_machine=state_machine))
        Dispatching(self, "Dispatching", DispatchingProps(**delivery, dispatch=self.functions.dispatch))
        self.entry_points = EntryPoints(
            self,
            "EntryPoints",
            EntryPointsProps(
                **delivery, start=self.entry_functions.start, api_function=self.entry_functions.api
            ),
        )
        Batches(self, "Batches", BatchesProps(**delivery, api_function=self.entry_functions.api))
        self.webhooks = Webhooks(self, "Webhooks", DeliveryProps(**delivery))
        self.monitoring = Monitoring(  # last: it reads every function built above
            self,
            "Monitoring",
            MonitoringProps(
                **delivery,
                state_machine=state_machine,
                api=self.entry_points.api,
                api_access_logs=self.entry_points.access_logs,
            ),
        )
        self.acknowledgements = acknowledged(
            self,
            bucket=self.storage.bucket,
            state_machine=state_machine,
            tasks=[*self.functions.all, self.preparation.function, self.preparation.join],
        )
        acknowledge_findings(self, self.acknowledgements)
        cdk.Aspects.of(self).add(CheckovAcknowledgements())
