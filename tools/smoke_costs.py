"""The pure parts of ``make smoke``: reading the deployed stack's outputs, Lambda's REPORT lines, and
an estimate of what the run cost at AWS list prices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from tools.aws_prices import FIXED_MONTHLY, Usage, per_use_cost

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


def with_reports(usage: Usage, reports: list[tuple[int, int]]) -> Usage:
    """``usage`` plus the Lambda invocations of ``reports`` (billed ms, memory MB)."""
    gb_seconds = sum(billed / 1000 * memory / 1024 for billed, memory in reports)
    return replace(
        usage,
        lambda_requests=usage.lambda_requests + len(reports),
        lambda_gb_seconds=usage.lambda_gb_seconds + gb_seconds,
    )


def estimate_usd(usage: Usage) -> dict[str, float]:
    """Each per-use line of the estimate (``tools.aws_prices``, the one price list) and the total."""
    lines = per_use_cost(usage)
    return {**lines, "total": sum(lines.values())}


def describe(usage: Usage) -> str:
    costs = estimate_usd(usage)
    return "\n".join(
        [
            f"state transitions: {usage.transitions}, Lambda: {usage.lambda_requests} requests, "
            f"{usage.lambda_gb_seconds:.2f} GB-s, API: {usage.api_requests} requests, "
            f"events: {usage.events_put}",
            *(f"  {name:<28} ${value:.6f}" for name, value in costs.items()),
            "  (AWS list prices, us-east-1; DynamoDB, S3, logs and X-Ray per job are measured by make bench;"
            " excludes Volcengine's own charges)",
            "  fixed monthly while deployed: "
            + ", ".join(f"{name} ${value:.2f}" for name, value in FIXED_MONTHLY.items()),
        ]
    )
