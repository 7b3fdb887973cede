"""How every EventBridge rule of a pipeline hands events to a function: retried for two hours, and what
still cannot be delivered is kept in the pipeline's failed-deliveries queue.

A rule's dead-letter queue only keeps events EventBridge could not hand over. Once handed over, Lambda
invokes the function asynchronously and, when it fails twice more, drops the event unless the function
has an on-failure destination: every function a rule targets gets one, the same queue.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from lipsync_core.jobs.domain.contract import DetailType

from .resources import DeliveryProps

ASYNC_RETRIES = 2  # Lambda's own default for asynchronous invocations, written down


def delivered_to(function: lambda_.IFunction, props: DeliveryProps) -> targets.LambdaFunction:
    keep_failed_invocations(function, props)
    return targets.LambdaFunction(
        function,
        retry_attempts=3,
        max_event_age=cdk.Duration.hours(2),
        dead_letter_queue=props.dead_letters,
    )


def keep_failed_invocations(function: lambda_.IFunction, props: DeliveryProps) -> None:
    """Asynchronous invocations that still fail after Lambda's retries go to the failed-deliveries
    queue (once per function, whichever rule or notification configures it first)."""
    if isinstance(function, lambda_.Function) and function.node.try_find_child("EventInvokeConfig") is None:
        function.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES, on_failure=destinations.SqsDestination(props.dead_letters)
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
