"""The workflow's Lambda functions: thin handlers from ``functions/<name>/`` on the shared layers,
each granted only what it touches."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .config import StackConfig
from .signing_layer import SigningLayer

FUNCTIONS_ROOT = Path(__file__).resolve().parent.parent / "functions"
METRICS_NAMESPACE = "LipSync"


class FunctionFactory:
    """Builds every function the same way: runtime, layers, tracing, its own log group and role."""

    def __init__(
        self,
        *,
        config: StackConfig,
        layers: SigningLayer,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        flow_table: dynamodb.ITableV2,
        secret: secretsmanager.ISecret,
        event_bus_name: str,
    ) -> None:
        self.layers = layers
        self.target = layers.target
        self.flow_table = flow_table
        self.environment = {
            "JOB_TABLE_NAME": table.table_name,
            "BUCKET_NAME": bucket.bucket_name,
            "VOLC_SECRET_ID": secret.secret_arn,
            "VOLC_ENDPOINT": config.volc_endpoint,
            "OUTPUT_PREFIX": config.output_prefix,
            "JOB_DEADLINE_SECONDS": str(config.job_deadline_seconds),
            "MAX_SUBMIT_ATTEMPTS": str(config.max_submit_attempts),
            "POLL_FIRST_SECONDS": str(config.poll_first_seconds),
            "POLL_GROWTH": str(config.poll_growth),
            "POLL_MAX_SECONDS": str(config.poll_max_seconds),
            "RESULT_URL_ALLOWED_HOSTS": config.result_url_allowed_hosts,
            "ALLOW_LOCAL_URLS": "true" if config.allow_local_urls else "false",
            "EVENT_BUS_NAME": event_bus_name,
            "FLOW_TABLE_NAME": flow_table.table_name,
            "FLOW_LIMITS": config.flow_limits_json,
            "CAPACITY_WAIT_FIRST_SECONDS": str(config.capacity_wait_first_seconds),
            "CAPACITY_WAIT_MAX_SECONDS": str(config.capacity_wait_max_seconds),
            "EVENT_SOURCE": config.event_source,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def build(
        self,
        scope: Construct,
        name: str,
        *,
        timeout: int,
        memory: int = 256,
        environment: dict[str, str] | None = None,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            scope,
            f"{name}-logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs to its own group only.
        role = iam.Role(scope, f"{name}-role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        function = lambda_.Function(
            scope,
            name,
            runtime=self.target.runtime,
            architecture=self.target.cdk_architecture,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_ROOT / name), exclude=["__pycache__"]),
            layers=self.layers.in_order,
            timeout=cdk.Duration.seconds(timeout),
            memory_size=memory,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment={
                **self.environment,
                **(environment or {}),
                "POWERTOOLS_SERVICE_NAME": f"lipsync-{name.replace('_', '-')}",
            },
        )
        self.layers.apply(function)
        return function


def item_access(*tables: dynamodb.ITableV2) -> iam.PolicyStatement:
    """Only the item operations the job store and flow control use, on the tables themselves."""
    return iam.PolicyStatement(
        actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources=[table.table_arn for table in tables],
    )


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
    """The state machine's tasks."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        factory: FunctionFactory,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.submit = factory.build(self, "submit", timeout=60)
        self.poll = factory.build(self, "poll", timeout=60)
        self.copy_result = factory.build(self, "copy_result", timeout=900, memory=config.copy_memory_mb)
        self.record_failure = factory.build(self, "record_failure", timeout=30)

        for function in self.all:
            function.add_to_role_policy(item_access(table))
        for function in (self.submit, self.poll, self.copy_result, self.record_failure):
            function.add_to_role_policy(item_access(factory.flow_table))
        for function in (self.submit, self.poll, self.copy_result):
            secret.grant_read(function)
        # Submit reads inputs through the input reader role (infra/input_reader.py), not its own.
        self.copy_result.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{config.output_prefix}*")],
            )
        )

    @property
    def all(self) -> list[lambda_.Function]:
        return [self.submit, self.poll, self.copy_result, self.record_failure]


class EntryFunctions(Construct):
    """``start`` (S3 manifests, bus requests) and ``api`` (the REST API)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        factory: FunctionFactory,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        secret: secretsmanager.ISecret,
        bus: events.IEventBus,
        state_machine: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = {"STATE_MACHINE_ARN": state_machine.state_machine_arn}
        self.failed_deliveries = failed_deliveries_queue(self)
        self.start = factory.build(self, "start", timeout=60, environment=environment)
        # Asynchronous deliveries that still fail after Lambda's retries are kept, not lost.
        self.start.configure_async_invoke(
            retry_attempts=2, on_failure=destinations.SqsDestination(self.failed_deliveries)
        )
        self.api = factory.build(self, "api", timeout=30, environment=environment)

        executions = cdk.Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        for function in (self.start, self.api):
            function.add_to_role_policy(item_access(table))
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"], resources=[state_machine.state_machine_arn]
                )
            )
            bus.grant_put_events_to(function)
        self.start.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("jobs/*")]
            )
        )
        self.start.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("rejections/*")])
        )
        self.api.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{table.table_arn}/index/by-status", f"{table.table_arn}/index/by-created"],
            )
        )
        self.api.add_to_role_policy(item_access(factory.flow_table))  # cancel gives the slot back
        self.api.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StopExecution"], resources=[executions])
        )
        self.api.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{config.output_prefix}*")]
            )
        )
        self.api.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("inputs/*")])
        )
        secret.grant_read(self.api)  # CVCancelTask, best effort
