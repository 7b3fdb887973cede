"""The pure parts of ``make smoke``: reading the deployed stack's outputs, Lambda's REPORT lines, and
an estimate of what the run cost at AWS list prices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# US East (N. Virginia) list prices; other regions differ by a few percent. Volcengine bills its own.
STATE_TRANSITION_USD = 0.025 / 1000  # Step Functions Standard
LAMBDA_GB_SECOND_USD = 0.0000166667  # x86_64; arm64 is 20 % less
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
API_REQUEST_USD = 3.50 / 1_000_000  # REST API
EVENT_USD = 1.00 / 1_000_000  # custom events put on a bus

_REPORT = re.compile(r"Billed Duration: (?P<billed>\d+) ms\s+Memory Size: (?P<memory>\d+) MB")


@dataclass(frozen=True)
class StackOutputs:
    bucket: str
    bus: str
    table: str
    state_machine_arn: str
    secret_arn: str
    api_url: str
    alarm_topic_arn: str


def parse_outputs(text: str, stack_name: str) -> StackOutputs:
    """``cdk deploy --outputs-file``'s JSON for one stack."""
    outputs = json.loads(text).get(stack_name)
    if not isinstance(outputs, dict):
        raise ValueError(f"the outputs file has no stack {stack_name}")
    try:
        return StackOutputs(
            bucket=outputs["BucketName"],
            bus=outputs["EventBusName"],
            table=outputs["JobTableName"],
            state_machine_arn=outputs["StateMachineArn"],
            secret_arn=outputs["SecretArn"],
            api_url=outputs["ApiUrl"].rstrip("/"),
            alarm_topic_arn=outputs["AlarmTopicArn"],
        )
    except KeyError as missing:
        raise ValueError(f"the stack {stack_name} has no output {missing}") from None


def parse_report(line: str) -> tuple[int, int] | None:
    """(billed milliseconds, memory MB) from a Lambda ``REPORT`` log line, or None for other lines."""
    match = _REPORT.search(line)
    return (int(match["billed"]), int(match["memory"])) if match else None


@dataclass(frozen=True)
class Usage:
    transitions: int = 0
    lambda_requests: int = 0
    lambda_gb_seconds: float = 0.0
    api_requests: int = 0
    events: int = 0

    def add_reports(self, reports: list[tuple[int, int]]) -> Usage:
        gb_seconds = sum(billed / 1000 * memory / 1024 for billed, memory in reports)
        return Usage(
            self.transitions,
            self.lambda_requests + len(reports),
            self.lambda_gb_seconds + gb_seconds,
            self.api_requests,
            self.events,
        )


def estimate_usd(usage: Usage) -> dict[str, float]:
    """Each line of the estimate and the total, in US dollars."""
    lines = {
        "step functions transitions": usage.transitions * STATE_TRANSITION_USD,
        "lambda compute": usage.lambda_gb_seconds * LAMBDA_GB_SECOND_USD,
        "lambda requests": usage.lambda_requests * LAMBDA_REQUEST_USD,
        "api requests": usage.api_requests * API_REQUEST_USD,
        "events": usage.events * EVENT_USD,
    }
    return {**lines, "total": sum(lines.values())}


def describe(usage: Usage) -> str:
    costs = estimate_usd(usage)
    return "\n".join(
        [
            f"state transitions: {usage.transitions}, Lambda: {usage.lambda_requests} requests, "
            f"{usage.lambda_gb_seconds:.2f} GB-s, API: {usage.api_requests} requests, events: {usage.events}",
            *(f"  {name:<28} ${value:.6f}" for name, value in costs.items()),
            "  (AWS list prices, us-east-1; excludes Volcengine's own charges, the KMS key's prorated month "
            "and storage of a few MB)",
        ]
    )
