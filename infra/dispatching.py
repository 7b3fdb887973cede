"""What starts the dispatcher (``functions/dispatch``) besides a job entering the line: every slot that
comes back (the flow table's stream, filtered to releases and to runs asking for the next one), and a
schedule every minute, the backstop that also measures the line for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from lipsync_core.jobs.access.flow_control import RELEASED, WAKE_PREFIX

from .resources import DeliveryProps
from .rules import delivered_to

SWEEP_EVERY = cdk.Duration.minutes(1)


@dataclass(frozen=True)
class DispatchingProps(DeliveryProps):
    dispatch: lambda_.Function  # built with the workflow's functions: WaitForAdmission invokes it


class Dispatching(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DispatchingProps) -> None:
        super().__init__(scope, construct_id)
        filters = [
            # A slot released (the flow table's semaphore items say what their last write did).
            lambda_.FilterCriteria.filter(
                {
                    "eventName": lambda_.FilterRule.is_equal("MODIFY"),
                    "dynamodb": {
                        "Keys": {"key": {"S": lambda_.FilterRule.begins_with("slots#")}},
                        "NewImage": {"last_change": {"S": lambda_.FilterRule.is_equal(RELEASED)}},
                    },
                }
            ),
            # A run that stopped for the submit rate asks for the next one.
            lambda_.FilterCriteria.filter(
                {"dynamodb": {"Keys": {"key": {"S": lambda_.FilterRule.begins_with(WAKE_PREFIX)}}}}
            ),
        ]
        self.stream = sources.DynamoEventSource(
            props.flow_table,
            starting_position=lambda_.StartingPosition.LATEST,
            batch_size=100,
            max_batching_window=cdk.Duration.seconds(0),  # hand capacity on at once
            # A record is only a nudge: after two retries it is dropped, and the schedule covers.
            retry_attempts=2,
            parallelization_factor=1,
            filters=filters,
        )
        props.dispatch.add_event_source(self.stream)
        self.sweep_rule = events.Rule(
            self,
            "Sweep",
            description="Admit from the line whatever nothing else did, and measure the line",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[delivered_to(props.dispatch, props)],
        )
