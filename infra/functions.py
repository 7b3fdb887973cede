"""The workflow's Lambda functions: thin handlers from ``functions/<name>/`` on the shared layers,
each granted only what it touches."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .config import StackConfig
from .signing_layer import ARCHITECTURE, RUNTIME, SigningLayer

FUNCTIONS_ROOT = Path(__file__).resolve().parent.parent / "functions"
METRICS_NAMESPACE = "LipSync"


class WorkflowFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        layers: SigningLayer,
        bucket: s3.IBucket,
        table: dynamodb.ITableV2,
        secret: secretsmanager.ISecret,
        event_bus_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layers = [layers.powertools, layers.layer]
        self._environment = {
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
            "EVENT_SOURCE": config.event_source,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.submit = self._function("submit", timeout=60)
        self.poll = self._function("poll", timeout=60)
        self.copy_result = self._function("copy_result", timeout=900, memory=config.copy_memory_mb)
        self.record_failure = self._function("record_failure", timeout=30)

        # Only the item operations the job store uses, on the table itself (no indexes, no scans).
        job_items = iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resources=[table.table_arn],
        )
        for function in self.all:
            function.add_to_role_policy(job_items)
        for function in (self.submit, self.poll, self.copy_result):
            secret.grant_read(function)
        # Submit presigns GET URLs for inputs in the bucket: the URL carries the function's identity.
        self.submit.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        self.copy_result.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{config.output_prefix}*")],
            )
        )

    @property
    def all(self) -> list[lambda_.Function]:
        return [self.submit, self.poll, self.copy_result, self.record_failure]

    def _function(self, name: str, *, timeout: int, memory: int = 256) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{name}-logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs to its own group only.
        role = iam.Role(self, f"{name}-role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        return lambda_.Function(
            self,
            name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_ROOT / name), exclude=["__pycache__"]),
            layers=self._layers,
            timeout=cdk.Duration.seconds(timeout),
            memory_size=memory,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment={**self._environment, "POWERTOOLS_SERVICE_NAME": f"lipsync-{name.replace('_', '-')}"},
        )
