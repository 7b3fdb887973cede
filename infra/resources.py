"""The props every part of a pipeline is built from: its settings and names, the resources all parts
share, and the factory that builds every function. A construct that needs more extends them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from .config import StackConfig
from .names import PipelineNames

if TYPE_CHECKING:  # the factory builds from the stores below
    from .function_factory import FunctionFactory


@dataclass(frozen=True)
class PipelineStores:
    """What every function's environment names: settings, names and the stores."""

    config: StackConfig
    names: PipelineNames
    bucket: s3.IBucket  # inputs, manifests, results
    table: dynamodb.ITableV2  # job records
    flow_table: dynamodb.ITableV2  # flow control's slots
    secret: secretsmanager.ISecret  # the Volcengine credentials
    bus: events.IEventBus  # where requests arrive and job events are announced


@dataclass(frozen=True)
class PipelineResources(PipelineStores):
    factory: FunctionFactory

    def shared(self) -> dict[str, Any]:
        """These resources as keyword arguments, for the props of a construct that extends them."""
        return {field.name: getattr(self, field.name) for field in fields(PipelineResources)}


@dataclass(frozen=True)
class DeliveryProps(PipelineResources):
    """For the parts that receive events or asynchronous invocations: what still cannot be delivered
    after the retries is kept in one queue (under one alarm), not lost."""

    dead_letters: sqs.IQueue
