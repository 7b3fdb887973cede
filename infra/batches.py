"""Batches: ``jobs/*.jsonl`` manifests (uploaded, or put by ``POST /batches``) go to the start
function (see ``entry_points``); every terminal event of a batch's job (ids ``batch-…-L0007``) goes
to ``batch_progress``, which counts it on its batch and announces ``LipSync Batch Finished`` once."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .function_factory import item_access
from .resources import DeliveryProps
from .rules import job_ended_rule


@dataclass(frozen=True)
class BatchesProps(DeliveryProps):
    api_function: lambda_.IFunction  # POST /batches


class Batches(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: BatchesProps) -> None:
        super().__init__(scope, construct_id)
        props.api_function.add_to_role_policy(  # POST /batches hands its manifest to the start function
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[props.bucket.arn_for_objects("jobs/batches/*")]
            )
        )
        self.function = props.factory.build(self, "batch_progress", timeout=30)
        self.function.add_to_role_policy(item_access(props.table))
        props.bus.grant_put_events_to(self.function)
        self.rule = job_ended_rule(
            self,
            "BatchJobEnded",
            self.function,
            props,
            description="A batch's job ended: count it on its batch",
            detail={"job_id": [{"prefix": "batch-"}]},
        )
