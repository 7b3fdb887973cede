"""Prepare and JoinSegments, the functions that handle media.

Prepare: a job's inputs probed from their headers (ranged reads) and, when the request allows it,
converted into the service's recommended ranges, before anything is paid for
(``lipsync_core.jobs.steps.prepare``). PyAV (FFmpeg) comes in a layer of its own, so only this function
loads it. It is the workflow's first state (``infra/workflow.py``).

It reads inputs as Submit does, through the input reader role (``infra/signing_roles.py``), and writes
only the converted copies and a long voice's segments, under ``prepared/``, and the segments' records.

JoinSegments joins a segmented job's results (``lipsync_core.jobs.steps.join_segments``): it reads the
parts under the output prefix's ``_segments/`` and the voice Prepare cut, writes the job's result and
removes the parts. Why a Lambda with PyAV (not MediaConvert or a container): ``docs/architecture.md``."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .function_factory import item_access, key_lookups
from .layer_bundling import build_media_layer, bundling_options
from .resources import PipelineResources
from .sources import BYTECODE, MEDIA_LAYER_ROOT
from .storage import PREPARED_PREFIX, SEGMENT_PARTS


class Preparation(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: PipelineResources) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        target = config.lambda_target
        self.media_layer = lambda_.LayerVersion(
            self,
            "MediaLayer",
            code=lambda_.Code.from_asset(
                str(MEDIA_LAYER_ROOT), bundling=bundling_options(target, build_media_layer), exclude=BYTECODE
            ),
            compatible_runtimes=[target.runtime],
            compatible_architectures=[target.cdk_architecture],
            description="PyAV with FFmpeg, for the functions that read or convert media",
        )
        self.function = props.factory.build(
            self,
            "prepare",
            timeout=900,  # a conversion of a long 4K input takes minutes
            memory=config.prepare_memory_mb,
            environment={"INPUT_SPECS": config.input_specs, "PREPARED_PREFIX": PREPARED_PREFIX},
            layers=[self.media_layer],
            ephemeral_storage_mb=config.prepare_storage_mb,  # the input and its copy, in /tmp
        )
        # The job's record: read, created for a job submitted directly, and its prepared inputs written.
        self.function.add_to_role_policy(item_access(props.table, create=True))
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[props.bucket.arn_for_objects(f"{PREPARED_PREFIX}*")],
            )
        )
        self.join = props.factory.build(
            self,
            "join_segments",
            timeout=900,  # an hour of voice joins in minutes (make bench)
            memory=config.join_memory_mb,
            environment={"PREPARED_PREFIX": PREPARED_PREFIX},
            layers=[self.media_layer],
            ephemeral_storage_mb=config.prepare_storage_mb,  # the parts, the voice and the result, in /tmp
        )
        self.join.add_to_role_policy(item_access(props.table))  # the job and its segments
        self.join.add_to_role_policy(key_lookups(props.bucket))  # a free output key answers 404
        parts = props.bucket.arn_for_objects(f"{config.output_prefix}{SEGMENT_PARTS}*")
        self.join.add_to_role_policy(  # the parts and the voice they were cut from
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[parts, props.bucket.arn_for_objects(f"{PREPARED_PREFIX}*")],
            )
        )
        self.join.add_to_role_policy(iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[parts]))
        self.join.add_to_role_policy(  # the job's result, written as CopyResult writes one
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
                resources=[props.bucket.arn_for_objects(f"{config.output_prefix}*")],
            )
        )
