"""The workflow's and the entry side's Lambda functions: thin handlers from ``functions/<name>/`` on the
shared layers (built by ``function_factory``), each granted only what it touches."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lipsync_core.jobs.access.line import INDEX as LINE_INDEX
from lipsync_core.jobs.steps.dispatch import RUN_SECONDS

from .function_factory import index_query, item_access, item_removal, key_lookups, secret_value
from .resources import PipelineResources

API_TIMEOUT_SECONDS = 28  # API Gateway's REST integrations time out after 29 s


def failed_deliveries_queue(scope: Construct) -> sqs.Queue:
    """Where deliveries that still fail after their retries are kept (two weeks), not lost."""
    return sqs.Queue(
        scope,
        "FailedDeliveries",
        retention_period=cdk.Duration.days(14),
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
    )


class WorkflowFunctions(Construct):
    """The state machine's tasks, and the dispatcher that lets jobs out of the line."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineResources) -> None:
        super().__init__(scope, construct_id)
        config, factory = props.config, props.factory
        # A run may wait for the submit rate for RUN_SECONDS; the rest is a few DynamoDB calls.
        self.dispatch = factory.build(self, "dispatch", timeout=int(RUN_SECONDS) + 30)
        self.submit = factory.build(self, "submit", timeout=60)
        self.poll = factory.build(self, "poll", timeout=60)
        self.copy_result = factory.build(self, "copy_result", timeout=900, memory=config.copy_memory_mb)
        self.record_failure = factory.build(self, "record_failure", timeout=30)

        # The line's first step records a job whose request came in the execution's input (a direct start).
        self.dispatch.add_to_role_policy(item_access(props.table, create=True))
        for function in (self.submit, self.poll, self.copy_result, self.record_failure):
            function.add_to_role_policy(item_access(props.table))
        for function in self.all:
            function.add_to_role_policy(item_access(props.flow_table))
        for function in (self.dispatch, self.record_failure):  # both take jobs out of the line
            function.add_to_role_policy(item_removal(props.table))
        self.dispatch.add_to_role_policy(index_query(props.table, LINE_INDEX))
        # A task token names no resource IAM can scope (SendTaskSuccess has no resource type).
        self.dispatch.add_to_role_policy(
            iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"])
        )
        for function in (self.submit, self.poll, self.copy_result):
            function.add_to_role_policy(secret_value(props.secret))
        # Submit reads inputs through the input reader role (infra/signing_roles.py), not its own; it
        # looks at the output key before paying (HeadObject: s3:GetObject, and ListBucket for a 404).
        outputs = props.bucket.arn_for_objects(f"{config.output_prefix}*")
        self.submit.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[outputs]))
        self.copy_result.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"], resources=[outputs]
            )
        )
        for function in (self.submit, self.copy_result):
            function.add_to_role_policy(key_lookups(props.bucket))

    @property
    def all(self) -> list[lambda_.Function]:
        """The functions the state machine invokes."""
        return [self.dispatch, self.submit, self.poll, self.copy_result, self.record_failure]


@dataclass(frozen=True)
class EntryFunctionsProps(PipelineResources):
    state_machine: sfn.StateMachine  # what both start


class EntryFunctions(Construct):
    """``start`` (S3 manifests, bus requests) and ``api`` (the REST API), and the queue that keeps the
    pipeline's undeliverable events (here, where it has always been: its logical id stays)."""

    def __init__(self, scope: Construct, construct_id: str, props: EntryFunctionsProps) -> None:
        super().__init__(scope, construct_id)
        factory, bucket, table = props.factory, props.bucket, props.table
        state_machine = props.state_machine
        environment = {"STATE_MACHINE_ARN": state_machine.state_machine_arn}
        self.failed_deliveries = failed_deliveries_queue(self)
        self.start = factory.build(self, "start", timeout=60, environment=environment)
        # Asynchronous deliveries that still fail after Lambda's retries are kept, not lost.
        self.start.configure_async_invoke(
            retry_attempts=2, on_failure=destinations.SqsDestination(self.failed_deliveries)
        )
        # Under API Gateway's 29 s integration timeout, so a slow call ends as the function's own error,
        # never as a 504 after the function went on to create the job.
        self.api = factory.build(self, "api", timeout=API_TIMEOUT_SECONDS, environment=environment)

        executions = cdk.Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        for function in (self.start, self.api):
            function.add_to_role_policy(item_access(table, create=True))
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"], resources=[state_machine.state_machine_arn]
                )
            )
            props.bus.grant_put_events_to(function)
        self.start.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("jobs/*")]
            )
        )
        self.start.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("rejections/*")])
        )
        # A manifest deleted before its delivery is then a 404 the function reports, not a 403 it retries.
        self.start.add_to_role_policy(key_lookups(bucket))
        # Listing jobs; a waiting job's place and the line's summary (GET /queue).
        self.api.add_to_role_policy(index_query(table, "by-status", "by-created", LINE_INDEX))
        self.api.add_to_role_policy(  # a listing reads its page's items (the indexes hold keys only)
            iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[table.table_arn])
        )
        self.api.add_to_role_policy(item_removal(table))  # cancel takes a waiting job out of the line
        self.api.add_to_role_policy(item_access(props.flow_table))  # cancel gives the slot back
        self.api.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StopExecution"], resources=[executions])
        )
        # Presigned URLs (uploads, results) are signed by the URL signer role (infra/signing_roles.py).
        self.api.add_to_role_policy(secret_value(props.secret))  # CVCancelTask, best effort
