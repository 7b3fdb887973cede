"""The stack's EventBridge bus, where job events are announced."""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct

from .config import StackConfig


class JobEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=config.event_bus_name)
