"""The props every part of a pipeline is built from: its settings and names, the resources all parts
share, and the factory that builds every function. A construct that needs more extends them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import aws_sqs as sqs

from .function_factory import FunctionFactory
from .stores import PipelineStores


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
