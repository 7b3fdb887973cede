"""Every Lambda function of a pipeline is built here, the same way, and remembered: monitoring reads
the factory's list, so no function can be left without its alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .signing_layer import SigningLayer
from .sources import BYTECODE, FUNCTIONS_ROOT
from .stores import PipelineStores

METRICS_NAMESPACE = "LipSync"


class FunctionsSealedError(RuntimeError):
    pass


class FunctionFactory:
    """Builds every function the same way: runtime, layers, tracing, its own log group and role."""

    def __init__(self, stores: PipelineStores, layers: SigningLayer) -> None:
        self.layers = layers
        self.target = layers.target
        self._built: dict[str, lambda_.Function] = {}
        self._sealed_by = ""
        config = stores.config
        self.environment = {
            "JOB_TABLE_NAME": stores.table.table_name,
            "BUCKET_NAME": stores.bucket.bucket_name,
            "VOLC_SECRET_ID": stores.secret.secret_arn,
            "VOLC_ENDPOINT": config.volc_endpoint,
            "OUTPUT_PREFIX": config.output_prefix,
            "JOB_DEADLINE_SECONDS": str(config.job_deadline_seconds),
            "MAX_SUBMIT_ATTEMPTS": str(config.max_submit_attempts),
            "POLL_FIRST_SECONDS": str(config.poll_first_seconds),
            "POLL_GROWTH": str(config.poll_growth),
            "POLL_MAX_SECONDS": str(config.poll_max_seconds),
            "POLL_SHORT_SECONDS": str(config.poll_short_seconds),
            "RESULT_URL_ALLOWED_HOSTS": config.result_url_allowed_hosts,
            "ALLOW_LOCAL_URLS": "true" if config.allow_local_urls else "false",
            "EVENT_BUS_NAME": stores.bus.event_bus_name,
            "FLOW_TABLE_NAME": stores.flow_table.table_name,
            "FLOW_LIMITS": config.flow_limits_json,
            "MAX_QUEUE_SECONDS": str(config.max_queue_seconds),
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
        layers: list[lambda_.ILayerVersion] | None = None,  # its own, besides the shared ones
        ephemeral_storage_mb: int | None = None,
    ) -> lambda_.Function:
        if self._sealed_by:
            raise FunctionsSealedError(
                f"the {name} function is built after {self._sealed_by} read the pipeline's functions: "
                "build every function first"
            )
        if name in self._built:
            raise ValueError(f"the pipeline already has a {name} function")
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
            code=lambda_.Code.from_asset(str(FUNCTIONS_ROOT / name), exclude=BYTECODE),
            layers=self.layers.with_extra(layers or []),
            timeout=cdk.Duration.seconds(timeout),
            ephemeral_storage_size=cdk.Size.mebibytes(ephemeral_storage_mb) if ephemeral_storage_mb else None,
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
        self.layers.apply(function, layers)
        self._built[name] = function
        return function

    def seal(self, reader: str) -> dict[str, lambda_.Function]:
        """Every function built so far, by name; building another afterwards fails (``reader`` would
        miss it), so a function cannot escape what reads this list."""
        self._sealed_by = reader
        return dict(self._built)


def item_access(*tables: dynamodb.ITableV2, create: bool = False) -> iam.PolicyStatement:
    """Reading and updating items of the tables themselves (the job store's and flow control's
    operations), and creating them (``PutItem``) only for the functions that record new jobs."""
    return iam.PolicyStatement(
        actions=["dynamodb:GetItem", "dynamodb:UpdateItem", *(["dynamodb:PutItem"] if create else [])],
        resources=[table.table_arn for table in tables],
    )


def item_removal(table: dynamodb.ITableV2) -> iam.PolicyStatement:
    """Deleting items: the line's entries (``lipsync_core.jobs.access.line``), taken out of the line."""
    return iam.PolicyStatement(actions=["dynamodb:DeleteItem"], resources=[table.table_arn])


def index_query(table: dynamodb.ITableV2, *indexes: str) -> iam.PolicyStatement:
    """Queries of the named indexes of ``table`` only."""
    return iam.PolicyStatement(
        actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{index}" for index in indexes]
    )


def secret_value(secret: secretsmanager.ISecret) -> iam.PolicyStatement:
    """Reading a secret's value, which is all Powertools' parameters provider does (no DescribeSecret)."""
    return iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn])


def key_lookups(bucket: s3.IBucket) -> iam.PolicyStatement:
    """``s3:ListBucket`` on the bucket: with it S3 answers a missing key with 404, without it with 403,
    which reads like a denial (keys only; no object is readable through it)."""
    return iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
