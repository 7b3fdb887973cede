"""How every EventBridge rule of a pipeline hands events to a function: retried for two hours, and what
still cannot be delivered is kept in the pipeline's failed-deliveries queue."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_

from .resources import DeliveryProps


def delivered_to(function: lambda_.IFunction, props: DeliveryProps) -> targets.LambdaFunction:
    return targets.LambdaFunction(
        function,
        retry_attempts=3,
        max_event_age=cdk.Duration.hours(2),
        dead_letter_queue=props.dead_letters,
    )
