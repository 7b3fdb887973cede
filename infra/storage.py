"""Storage: the bucket for inputs, manifests and results (the pipeline's own, or one it is given), the
job table and the flow-control table."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lipsync_core.jobs.access.line import INDEX as LINE_INDEX
from lipsync_core.jobs.domain.segmenting import PARTS_FOLDER
from lipsync_core.jobs.domain.settings import Settings

from .config import StackConfig

PREPARED_PREFIX = Settings.model_fields["prepared_prefix"].default  # where Prepare's copies go
SEGMENT_PARTS = PARTS_FOLDER  # under the output prefix: segments' results until the join removes them


@dataclass(frozen=True)
class StorageProps:
    config: StackConfig
    # A bucket of the caller's: the pipeline uses it as it is (it must be versioned: manifests are
    # deduplicated by key and version) and adds only event notifications and grants. None: its own.
    bucket: s3.IBucket | None = None


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: StorageProps) -> None:
        super().__init__(scope, construct_id)
        self.bucket = props.bucket or self._media_bucket(props.config)
        self.table = self._table(
            "Jobs",
            key="job_id",
            recovery=True,
            indexes=[
                # Keys only: the job's item is updated a dozen times in its life; an index projecting all
                # of it would be written each time (a listing reads the page's items with BatchGetItem).
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="by-status",
                    partition_key=dynamodb.Attribute(name="status", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.KEYS_ONLY,
                ),
                # Every job, newest first: one constant partition ("kind" = "job") sorted by creation.
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name="by-created",
                    partition_key=dynamodb.Attribute(name="kind", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.KEYS_ONLY,
                ),
                # The line (lipsync_core.jobs.access.line): only its entries have these keys, so the
                # head of a mode's line is one Query and a job's place a count; keys are all it needs.
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=LINE_INDEX,
                    partition_key=dynamodb.Attribute(name="line", type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name="line_order", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.KEYS_ONLY,
                ),
            ],
        )
        # Flow control's shared state (rate slots, unfinished-task slots, task times): a few small, hot
        # items. Nothing here outlives a burst of jobs, so no point-in-time recovery and no retention.
        # Its stream tells the dispatcher when a slot comes back (new images: the filter reads them).
        self.flow_table = self._table(
            "FlowControl", key="key", recovery=False, stream=dynamodb.StreamViewType.NEW_IMAGE
        )

    def _table(
        self,
        construct_id: str,
        *,
        key: str,
        recovery: bool,
        indexes: list[dynamodb.GlobalSecondaryIndexPropsV2] | None = None,
        stream: dynamodb.StreamViewType | None = None,
    ) -> dynamodb.TableV2:
        """On demand; tables worth recovering are also retained with the operator's data."""
        return dynamodb.TableV2(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=recovery
            ),
            global_secondary_indexes=indexes,
            dynamo_stream=stream,
            removal_policy=cdk.RemovalPolicy.RETAIN if recovery else cdk.RemovalPolicy.DESTROY,
        )

    def _media_bucket(self, config: StackConfig) -> s3.Bucket:
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        return s3.Bucket(
            self,
            "Media",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,  # manifests are deduplicated by key and version
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-inputs",
                    prefix="inputs/",
                    expiration=cdk.Duration.days(config.input_expiry_days),
                ),
                s3.LifecycleRule(  # the converted copies Prepare made: only their job reads them
                    id="expire-prepared",
                    prefix=PREPARED_PREFIX,
                    expiration=cdk.Duration.days(config.input_expiry_days),
                ),
                s3.LifecycleRule(  # segments' results a failed or cancelled job left (the join removes them)
                    id="expire-segment-parts",
                    prefix=f"{config.output_prefix}{SEGMENT_PARTS}",
                    expiration=cdk.Duration.days(config.input_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-old-versions", noncurrent_version_expiration=cdk.Duration.days(7)
                ),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
