"""Step Functions' account quotas that the configured limits lean on, and what the stack needs of them.

The values come from Service Quotas, found by the quota's name as Service Quotas names it (its codes are
not documented: ``ListAWSDefaultServiceQuotas`` gives them, with AWS's default for the region, and
``GetServiceQuota`` the account's applied value); where the API has no value, from the defaults the Step
Functions guide documents ("Step Functions service quotas"), which differ between the three largest
regions and the others."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lipsync_core.jobs.entry.batches import MAX_LINES

SERVICE_CODE = "states"
START_BUCKET = "StartExecution throttle token bucket size"
TRANSITION_REFILL = "StateTransition throttle token refill rate per second"
LARGE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
# Standard workflows' documented defaults: (largest regions, all others).
DOCUMENTED: Mapping[str, tuple[float, float]] = {START_BUCKET: (1300, 800), TRANSITION_REFILL: (5000, 800)}
# What the stack does at most, by construction: a batch manifest starts up to ``MAX_LINES`` executions at
# once, while the API stage admits a burst of 40 requests (``infra/entry_points.py``), each starting one.
API_BURST = 40
# State transitions (states entered) per poll turn (Wait, Poll, TaskStatus) and per submission (Submit,
# Wait, Poll and TaskStatus of its first turn come with it, counted with the polls: Submit alone).
TRANSITIONS_PER_POLL = 3
TRANSITIONS_PER_SUBMISSION = 1
MODES = 2  # lite and basic: the service's limits, and ours, are per mode


@dataclass(frozen=True)
class Quota:
    value: float
    source: str  # "applied", "AWS default" or "documented default"
    code: str = ""  # Service Quotas' code, when it listed the quota


def documented(name: str, region: str) -> Quota:
    large, other = DOCUMENTED[name]
    return Quota(large if region in LARGE_REGIONS else other, "documented default")


def listed(pages: Iterable[Mapping[str, Any]]) -> dict[str, Quota]:
    """The quotas above in ``ListAWSDefaultServiceQuotas`` pages, by name."""
    found: dict[str, Quota] = {}
    for page in pages:
        for quota in page.get("Quotas", []):
            name, value, code = quota.get("QuotaName"), quota.get("Value"), quota.get("QuotaCode")
            if name in DOCUMENTED and isinstance(value, int | float) and isinstance(code, str):
                found.setdefault(name, Quota(float(value), "AWS default", code))
    return found


def read_quotas(session: Any, region: str) -> dict[str, Quota]:
    """Every quota above: the account's applied value (``GetServiceQuota``), else AWS's default for the
    region (``ListAWSDefaultServiceQuotas``, which also names the codes), else the documented default."""
    client = session.client("service-quotas")
    try:
        defaults = listed(
            client.get_paginator("list_aws_default_service_quotas").paginate(ServiceCode=SERVICE_CODE)
        )
    except (BotoCoreError, ClientError):
        defaults = {}  # not listed here, or not readable: the guide's figures answer
    return {name: applied(client, defaults.get(name)) or documented(name, region) for name in DOCUMENTED}


def applied(client: Any, default: Quota | None) -> Quota | None:
    if default is None:
        return None
    try:
        value = client.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=default.code)["Quota"]["Value"]
    except (BotoCoreError, ClientError, KeyError):
        return default  # no applied value: the default applies
    return Quota(float(value), "applied", default.code)


def starts_needed() -> int:
    """The largest burst of StartExecution the stack makes: a whole batch while the API takes its burst."""
    return MAX_LINES + API_BURST


def transitions_needed(submit_qps: float, poll_qps: float) -> float:
    """State transitions per second when every mode submits and polls at its configured rate."""
    return MODES * (submit_qps * TRANSITIONS_PER_SUBMISSION + poll_qps * TRANSITIONS_PER_POLL)
