"""What a pipeline's functions are wired to: its settings and names, and the resources every function's
environment names (the function factory builds from these; ``resources`` adds the factory)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from .config import StackConfig
from .names import PipelineNames


@dataclass(frozen=True)
class PipelineStores:
    config: StackConfig
    names: PipelineNames
    bucket: s3.IBucket  # inputs, manifests, results
    table: dynamodb.ITableV2  # job records
    flow_table: dynamodb.ITableV2  # flow control's slots
    secret: secretsmanager.ISecret  # the Volcengine credentials
    bus: events.IEventBus  # where requests arrive and job events are announced
