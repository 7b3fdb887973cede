"""Batches: ``jobs/*.jsonl`` manifests (uploaded, or put by ``POST /batches``) go to the start
function (see ``entry_points``); every terminal event of a batch's job (ids ``batch-…-L0007``) goes
to ``batch_progress``, which counts it on its batch and announces ``LipSync Batch Finished`` once."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lipsync_core.jobs.domain.contract import DetailType

from .functions import FunctionFactory, item_access


class Batches(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        table: dynamodb.ITableV2,
        bus: events.IEventBus,
        bucket: s3.IBucket,
        api_function: lambda_.IFunction,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        api_function.add_to_role_policy(  # POST /batches hands its manifest to the start function
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[bucket.arn_for_objects("jobs/batches/*")]
            )
        )
        self.function = factory.build(self, "batch_progress", timeout=30)
        self.function.add_to_role_policy(item_access(table))
        bus.grant_put_events_to(self.function)
        self.rule = events.Rule(
            self,
            "BatchJobEnded",
            event_bus=bus,
            description="A batch's job ended: count it on its batch",
            event_pattern=events.EventPattern(
                detail_type=[DetailType.SUCCEEDED, DetailType.FAILED, DetailType.CANCELLED],
                detail={"job_id": [{"prefix": "batch-"}]},
            ),
            targets=[
                targets.LambdaFunction(  # events still undelivered after retries: the stack's queue
                    self.function,
                    retry_attempts=3,
                    max_event_age=cdk.Duration.hours(2),
                    dead_letter_queue=dead_letters,
                )
            ],
        )
