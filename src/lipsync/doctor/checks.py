"""What a first deploy needs from the account and region, each checked with read-only calls and
reported as one finding with its fix. Nothing here writes, and no secret value is ever shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from . import step_functions as sfn

Status = Literal["ok", "warn", "fail"]
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"  # the default qualifier's
MIN_BOOTSTRAP_VERSION = 6  # what CDK v2 templates check (their CheckBootstrapVersion rule)
SECRET_KEYS = ("access_key_id", "secret_access_key")


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" (fix: {self.fix})" if self.fix and self.status != "ok" else ""
        return f"{self.status:<4} {self.check}: {self.detail}{fix}"


@dataclass(frozen=True)
class Plan:
    """What the deploy would build (the stack's settings, from CDK context defaults or the options)."""

    stack_name: str = "LipSync"
    powertools_layer: str = "bundled"
    powertools_parameter: str = ""  # the managed layer's SSM parameter, for the target
    api_cloud_watch_role: bool = True
    max_unfinished_tasks: int = 10
    submit_qps: float = 1.0
    poll_qps: float = 5.0
    python_version: str = "3.13"
    find_python: Callable[[str], str] | None = None  # raises when there is none


def _error(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or error)
    return type(error).__name__


def credentials_and_region(session: Any, plan: Plan) -> Finding:
    if not session.region_name:
        return Finding("credentials", "fail", "no region", "set AWS_REGION or a profile's region")
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return Finding("credentials", "fail", f"no usable credentials ({_error(error)})", "aws configure")
    return Finding("credentials", "ok", f"account {identity['Account']}, region {session.region_name}")


def cdk_bootstrap(session: Any, plan: Plan) -> Finding:
    fix = f"node_modules/.bin/cdk bootstrap (account and region of {session.region_name})"
    try:
        value = session.client("ssm").get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as error:
        return Finding("cdk bootstrap", "fail", f"not bootstrapped ({_error(error)})", fix)
    if not value.isdigit() or int(value) < MIN_BOOTSTRAP_VERSION:
        return Finding("cdk bootstrap", "fail", f"version {value}, needs {MIN_BOOTSTRAP_VERSION}+", fix)
    return Finding("cdk bootstrap", "ok", f"version {value}")


def api_gateway_logging_role(session: Any, plan: Plan) -> Finding:
    try:
        role = session.client("apigateway").get_account().get("cloudwatchRoleArn")
    except (BotoCoreError, ClientError) as error:
        return Finding("api gateway logging role", "warn", f"could not read ({_error(error)})")
    if role:
        return Finding("api gateway logging role", "ok", f"set: {role}")
    if plan.api_cloud_watch_role:
        return Finding("api gateway logging role", "ok", "none yet: the stack sets one (and keeps it)")
    return Finding(
        "api gateway logging role",
        "fail",
        "none in this account and region, and the stack is told not to set one",
        "deploy with -c lipsync:api_cloud_watch_role=true",
    )


def powertools_layer(session: Any, plan: Plan) -> Finding:
    if plan.powertools_layer != "managed":
        return Finding("powertools layer", "ok", "bundled: built with the stack, nothing to look up")
    fix = "deploy with -c lipsync:powertools_layer=bundled"
    try:
        session.client("ssm").get_parameter(Name=plan.powertools_parameter)
    except (BotoCoreError, ClientError) as error:
        detail = f"{plan.powertools_parameter} not found here ({_error(error)})"
        return Finding("powertools layer", "fail", detail, fix)
    return Finding("powertools layer", "ok", f"managed: {plan.powertools_parameter}")


def lambda_concurrency(session: Any, plan: Plan) -> Finding:
    """Each unfinished task's steps, the entry functions and the reconciler run at once: new accounts
    start with a concurrency of 10 for the whole account."""
    needed = plan.max_unfinished_tasks + 10
    try:
        limits = session.client("lambda").get_account_settings()["AccountLimit"]
    except (BotoCoreError, ClientError) as error:
        return Finding("lambda concurrency", "warn", f"could not read ({_error(error)})")
    return concurrency_finding(int(limits["UnreservedConcurrentExecutions"]), needed)


def concurrency_finding(unreserved: int, needed: int) -> Finding:
    detail = f"{unreserved} unreserved, the configured limits need about {needed}"
    if unreserved >= needed:
        return Finding("lambda concurrency", "ok", detail)
    fix = (
        "ask Service Quotas for more Lambda concurrent executions (L-B99A9384), or lower max_unfinished_tasks"
    )
    return Finding("lambda concurrency", "fail", detail, fix)


def step_functions_starts(session: Any, plan: Plan) -> Finding:
    """A batch starts all its executions at once: past the StartExecution bucket, starts are throttled
    (the batch's delivery fails and is retried)."""
    bucket = sfn.read_quotas(session, session.region_name)[sfn.START_BUCKET]
    return starts_finding(bucket, sfn.starts_needed())


def starts_finding(bucket: sfn.Quota, needed: float) -> Finding:
    fix = "ask Service Quotas for a larger StartExecution throttle token bucket, or send smaller batches"
    need = "a batch and the API's burst start up to"
    return quota_finding(
        "step functions starts", f"StartExecution bucket {bucket.value:,.0f}", bucket, need, needed, fix
    )


def step_functions_transitions(session: Any, plan: Plan) -> Finding:
    """Every poll and submission at the configured rates enters states: past the refill rate, Step
    Functions delays them (ExecutionThrottled), and jobs finish later than their tasks."""
    refill = sfn.read_quotas(session, session.region_name)[sfn.TRANSITION_REFILL]
    needed = sfn.transitions_needed(plan.submit_qps, plan.poll_qps)
    fix = "ask Service Quotas for a higher StateTransition refill rate, or lower poll_qps"
    need = "the configured submit and poll rates need about"
    what = f"StateTransition refill {refill.value:,.0f}/s"
    return quota_finding("step functions transitions", what, refill, need, needed, fix, unit="/s")


def quota_finding(
    check: str, what: str, quota: sfn.Quota, need: str, needed: float, fix: str, unit: str = ""
) -> Finding:
    """``quota`` against what the stack ``needed``: below it, Step Functions throttles (a warning)."""
    detail = f"{what} ({quota.source}), {need} {needed:,.0f}{unit}"
    if quota.value >= needed:
        return Finding(check, "ok", detail)
    return Finding(check, "warn", detail, fix)


def volcengine_secret(session: Any, plan: Plan) -> Finding:
    try:
        outputs = session.client("cloudformation").describe_stacks(StackName=plan.stack_name)["Stacks"][0]
    except (BotoCoreError, ClientError):
        return Finding("volcengine secret", "ok", f"{plan.stack_name} is not deployed yet: set it after")
    arn = next((o["OutputValue"] for o in outputs.get("Outputs", []) if o["OutputKey"] == "SecretArn"), "")
    fix = (
        f"aws secretsmanager put-secret-value --secret-id {arn or 'SECRET'} "
        '--secret-string \'{"access_key_id": "AK...", "secret_access_key": "..."}\''
    )
    try:
        value = session.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    except (BotoCoreError, ClientError) as error:
        return Finding("volcengine secret", "fail", f"cannot be read ({_error(error)})", fix)
    return secret_finding(value, fix)


def secret_finding(value: str, fix: str) -> Finding:
    """Only the shape is judged and told; the value never leaves this function."""
    try:
        document = json.loads(value)
    except ValueError:
        return Finding("volcengine secret", "fail", "not JSON", fix)
    missing = [k for k in SECRET_KEYS if not isinstance(document, dict) or not document.get(k)]
    if missing:
        return Finding("volcengine secret", "fail", f"missing {', '.join(missing)}", fix)
    return Finding("volcengine secret", "ok", "holds an access key pair")


def python_for_synth(session: Any, plan: Plan) -> Finding:
    if plan.find_python is None:
        return Finding("python for synth", "warn", "lipsync-pipeline[cdk] is not installed")
    try:
        found = plan.find_python(plan.python_version)
    except RuntimeError as error:
        return Finding("python for synth", "fail", str(error), f"install Python {plan.python_version}")
    return Finding("python for synth", "ok", f"Python {plan.python_version}: {found}")


CHECKS: tuple[Callable[[Any, Plan], Finding], ...] = (
    credentials_and_region,
    cdk_bootstrap,
    api_gateway_logging_role,
    powertools_layer,
    lambda_concurrency,
    step_functions_starts,
    step_functions_transitions,
    volcengine_secret,
    python_for_synth,
)


def run_checks(session: Any, plan: Plan) -> list[Finding]:
    """Every check, in order; after failed credentials the others could only repeat it."""
    first = credentials_and_region(session, plan)
    if first.status == "fail":
        return [first]
    return [first, *(check(session, plan) for check in CHECKS[1:])]
