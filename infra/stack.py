"""The ``LipSync`` stack: one ``LipSyncPipeline`` configured from CDK context, and the stack's outputs."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from .config import StackConfig
from .names import PipelineNames
from .pipeline import LipSyncPipeline, LipSyncPipelineProps

# "Default" is left out of logical ids: the resources keep the ids they had before the pipeline became
# a construct of its own, so an existing stack updates in place (nothing retained is replaced).
PIPELINE_ID = "Default"


class LipSyncStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StackConfig | None = None, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config or StackConfig.from_context(self)
        # Named after the stack, so a second stack (`lipsync:stack_name`) gets its own bus, API, alarms.
        names = PipelineNames.from_context(self, stack_name=self.stack_name)
        self.pipeline = pipeline = LipSyncPipeline(
            self, PIPELINE_ID, LipSyncPipelineProps(names=names, config=self.config)
        )
        for name, (value, description) in {
            "BucketName": (
                pipeline.storage.bucket.bucket_name,
                "Media bucket: inputs under inputs/, job manifests under jobs/, results under outputs/",
            ),
            "EventBusName": (
                pipeline.bus.event_bus_name,
                "Event bus: put 'LipSync Job Requested' here; job outcomes are announced here",
            ),
            "JobTableName": (
                pipeline.storage.table.table_name,
                "DynamoDB table of job records (one item per job)",
            ),
            "StateMachineArn": (
                pipeline.workflow.state_machine.state_machine_arn,
                "The job workflow (one execution per job)",
            ),
            "SecretArn": (
                pipeline.credentials.secret.secret_arn,
                "Volcengine access key pair (JSON); set it after deploying",
            ),
            "ApiUrl": (
                pipeline.entry_points.api.url,
                "Jobs API base URL (IAM: SigV4-sign for execute-api): POST /jobs, GET /jobs, POST /uploads",
            ),
            "AlarmTopicArn": (
                pipeline.monitoring.topic.topic_arn,
                "SNS topic the alarms notify; subscribe to it",
            ),
            "WebhookSecretArn": (
                pipeline.webhooks.secret.secret_arn,
                "The key that signs job webhooks (verify_webhook)",
            ),
            "FailedDeliveriesQueueUrl": (
                pipeline.entry_functions.failed_deliveries.queue_url,
                "Deliveries that failed after every retry (lipsync webhooks failed --stack NAME)",
            ),
        }.items():
            cdk.CfnOutput(self, name, value=value, description=description)
