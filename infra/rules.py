"""How every EventBridge rule of a pipeline hands events to a function: retried for two hours, and what
still cannot be delivered is kept in the pipeline's failed-deliveries queue."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lipsync_core.jobs.domain.contract import DetailType

from .resources import DeliveryProps


def delivered_to(function: lambda_.IFunction, props: DeliveryProps) -> targets.LambdaFunction:
    return targets.LambdaFunction(
        function,
        retry_attempts=3,
        max_event_age=cdk.Duration.hours(2),
        dead_letter_queue=props.dead_letters,
    )


def job_ended_rule(
    scope: Construct,
    construct_id: str,
    function: lambda_.IFunction,
    props: DeliveryProps,
    *,
    description: str,
    detail: dict[str, Any] | None = None,
) -> events.Rule:
    """A rule for this pipeline's terminal job events (``detail`` narrows them), delivered to
    ``function``. Only this pipeline's source: the bus may be shared with other pipelines."""
    return events.Rule(
        scope,
        construct_id,
        event_bus=props.bus,
        description=description,
        event_pattern=events.EventPattern(
            source=[props.config.event_source],
            detail_type=[DetailType.SUCCEEDED, DetailType.FAILED, DetailType.CANCELLED],
            detail=detail,
        ),
        targets=[delivered_to(function, props)],
    )
