"""How jobs are asked for: S3 manifests under ``jobs/``, ``LipSync Job Requested`` events on the bus
(archived for replay), and the IAM-authorised REST API. All go through the ``start``/``api`` functions."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from lipsync_core.jobs.domain import documents as limits
from lipsync_core.jobs.domain.contract import DetailType
from lipsync_core.jobs.domain.models import DERIVED_JOB_ID_PATTERN, JOB_ID_PATTERN, PRIORITIES

from .config import StackConfig
from .resources import DeliveryProps
from .rules import delivered_to

REQUESTED_DETAIL_TYPE = DetailType.REQUESTED  # the event names are defined once, with their details
MANIFEST_PREFIX = "jobs/"

# A structural check at the edge, with the documented limits (``lipsync_core.jobs.domain.documents``);
# the full validation (modes, options, URLs, nesting, numbers) is the function's.
_MEDIA = apigateway.JsonSchema(
    type=[apigateway.JsonSchemaType.STRING, apigateway.JsonSchemaType.OBJECT],
    max_length=limits.MAX_STRING_CHARS,
    max_properties=1,
)
JOB_REQUEST_MODEL = apigateway.JsonSchema(
    schema=apigateway.JsonSchemaVersion.DRAFT4,
    type=apigateway.JsonSchemaType.OBJECT,
    required=["mode", "video", "audio"],
    additional_properties=False,
    properties={
        "mode": apigateway.JsonSchema(
            type=apigateway.JsonSchemaType.STRING, max_length=limits.MAX_MODE_CHARS
        ),
        "video": _MEDIA,
        "audio": _MEDIA,
        "options": apigateway.JsonSchema(type=apigateway.JsonSchemaType.OBJECT, max_properties=8),
        "aigc_meta": apigateway.JsonSchema(
            type=apigateway.JsonSchemaType.OBJECT,
            max_properties=4,
            additional_properties=apigateway.JsonSchema(
                type=apigateway.JsonSchemaType.STRING, max_length=limits.MAX_AIGC_META_CHARS
            ),
        ),
        "output": apigateway.JsonSchema(type=apigateway.JsonSchemaType.OBJECT, max_properties=2),
        "job_id": apigateway.JsonSchema(
            type=apigateway.JsonSchemaType.STRING,
            pattern=JOB_ID_PATTERN,
            not_=apigateway.JsonSchema(pattern=DERIVED_JOB_ID_PATTERN),
        ),
        "webhook": apigateway.JsonSchema(type=apigateway.JsonSchemaType.OBJECT, max_properties=2),
        "priority": apigateway.JsonSchema(type=apigateway.JsonSchemaType.STRING, enum=list(PRIORITIES)),
    },
)


@dataclass(frozen=True)
class EntryPointsProps(DeliveryProps):
    start: lambda_.IFunction  # manifests and bus requests
    api_function: lambda_.IFunction  # the REST API's integration


class EntryPoints(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: EntryPointsProps) -> None:
        super().__init__(scope, construct_id)
        config, bus, start = props.config, props.bus, props.start
        for suffix in (".json", ".jsonl"):  # one job; a batch (JSON Lines)
            props.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(start),
                s3.NotificationKeyFilter(prefix=MANIFEST_PREFIX, suffix=suffix),
            )
        self.requested_rule = events.Rule(
            self,
            "Requested",
            event_bus=bus,
            description="LipSync Job Requested events from the allowed sources start jobs",
            # Only the sources named in the configuration: anyone else on the bus starts nothing paid.
            event_pattern=events.EventPattern(
                source=config.allowed_request_sources, detail_type=[REQUESTED_DETAIL_TYPE]
            ),
            targets=[delivered_to(start, props)],
        )
        self.archive = bus.archive(
            "Archive",
            archive_name=props.names.requests_archive,
            description="Every job request from the allowed sources, for replay",
            event_pattern=events.EventPattern(
                source=config.allowed_request_sources, detail_type=[REQUESTED_DETAIL_TYPE]
            ),
            retention=cdk.Duration.days(30),
        )
        # aws-cdk-lib emits KmsKeyIdentifier "" for an archive without a key, which some regions refuse.
        archive = self.archive.node.default_child
        assert isinstance(archive, cdk.CfnResource)
        archive.add_property_deletion_override("KmsKeyIdentifier")
        self.api = self._api(props.api_function, config, props.names.api)

    def _api(self, function: lambda_.IFunction, config: StackConfig, name: str) -> apigateway.RestApi:
        self.access_logs = access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=name,  # API Gateway's metrics (the alarms') are per API name: the stack's own
            description="Lip-sync jobs (IAM-authorised)",
            endpoint_types=[apigateway.EndpointType(config.api_endpoint_type)],
            # The stage's logs need the account's API Gateway CloudWatch role: without one (a fresh
            # account or region) the stage fails to create. The role is kept when the stack goes, so the
            # account's other APIs keep logging (see architecture.md).
            cloud_watch_role=config.api_cloud_watch_role,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigateway.StageOptions(
                stage_name="v1",
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                throttling_rate_limit=20,
                throttling_burst_limit=40,
                tracing_enabled=True,
            ),
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
        )
        # RestApi adds its own Endpoint output; the stack's ApiUrl output (with a description) says it.
        api.node.try_remove_child("Endpoint")
        integration = apigateway.LambdaIntegration(function)
        validate_all = api.add_request_validator(
            "ValidateAll", validate_request_body=True, validate_request_parameters=True
        )
        job_model = api.add_model("JobRequest", content_type="application/json", schema=JOB_REQUEST_MODEL)
        jobs = api.root.add_resource("jobs")
        jobs.add_method(
            "POST",
            integration,
            request_validator=validate_all,
            request_models={"application/json": job_model},
            request_parameters={"method.request.header.Idempotency-Key": False},
        )
        jobs.add_method(
            "GET",
            integration,
            request_validator=validate_all,
            request_parameters={
                "method.request.querystring.status": False,
                "method.request.querystring.limit": False,
                "method.request.querystring.next_token": False,
            },
        )
        job = jobs.add_resource("{job_id}")
        job.add_method(
            "GET",
            integration,
            request_validator=validate_all,
            request_parameters={"method.request.path.job_id": True},
        )
        job.add_method(
            "DELETE",
            integration,
            request_validator=validate_all,
            request_parameters={"method.request.path.job_id": True},
        )
        api.root.add_resource("uploads").add_method("POST", integration, request_validator=validate_all)
        api.root.add_resource("queue").add_method("GET", integration, request_validator=validate_all)
        batches = api.root.add_resource("batches")
        batches.add_method(
            "POST",
            integration,
            request_validator=validate_all,
            request_parameters={"method.request.header.Idempotency-Key": False},
        )
        batches.add_resource("{batch_id}").add_method(
            "GET",
            integration,
            request_validator=validate_all,
            request_parameters={"method.request.path.batch_id": True},
        )
        return api

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Let a caller use every method of the API."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[self.api.arn_for_execute_api()])
        )
