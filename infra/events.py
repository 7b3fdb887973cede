"""The pipeline's own EventBridge bus, where requests arrive and job events are announced (unless the
pipeline is given a bus)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct

from .names import PipelineNames


class JobEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, names: PipelineNames) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=names.event_bus)
