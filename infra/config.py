"""A pipeline's settings (limits, deadline, polling, runtime, ...), with sensible defaults: given directly
to an embedded ``LipSyncPipeline``, or read from CDK context (``cdk.json`` or ``-c key=value``) by the
``LipSync`` stack. Physical names are not settings: see ``names.py``."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.jobs.domain.poll_policy import PollPolicy
from lipsync_core.media.rules import InputSpecs
from lipsync_core.volc import Mode

from .lambda_target import DEFAULT_PYTHON, LambdaTarget

CONTEXT_PREFIX = "lipsync:"
# A Standard execution lives at most a year: the line's bound leaves room for the job's deadline after it.
MAX_QUEUE_SECONDS = 360 * 86400
_POLL = PollPolicy()


@dataclass(frozen=True)
class StackConfig:
    # Polling without history: first wait, geometric growth, cap (seconds), by default PollPolicy's; with
    # history the first poll aims at the predicted end, later ones never closer than the short wait.
    poll_first_seconds: int = _POLL.first_seconds
    poll_growth: float = _POLL.growth
    poll_max_seconds: int = _POLL.max_seconds
    poll_short_seconds: int = _POLL.short_seconds
    # Paid work ends after this long from the first submission (under the service's 12-hour task lifetime).
    job_deadline_seconds: int = 6 * 3600
    # A job may wait this long in the line for capacity (0: no bound); past it, it ends FAILED, unpaid.
    max_queue_seconds: int = 7 * 86400
    max_submit_attempts: int = 3  # the first submission plus resubmissions after not_found/expired
    # Result URLs may only come from these hosts (and their subdomains); empty allows any public host.
    result_url_allowed_hosts: str = "volcengineapi.com,volces.com,volccdn.com,byteimg.com,bytecdn.cn"
    event_source: str = "lipsync.pipeline"
    volc_endpoint: str = "https://visual.volcengineapi.com"
    output_prefix: str = "outputs/"
    input_expiry_days: int = 30  # lifecycle for uploaded inputs
    # The copy streams (memory stays bounded), but hashing and uploading a result of any size in 900 s
    # needs CPU, which Lambda gives in proportion to memory: 1,769 MB is one whole vCPU.
    copy_memory_mb: int = 1769
    # Prepare decodes and encodes video: memory buys CPU on Lambda (about 1.7 vCPU at 3008 MB), and
    # /tmp holds an input and its converted copy.
    prepare_memory_mb: int = 3008
    prepare_storage_mb: int = 4096
    # JoinSegments decodes every segment's result and encodes the job's (CPU-bound, as Prepare).
    join_memory_mb: int = 3008
    # The inputs' recommended ranges per mode, as JSON overrides of the integrators' figures
    # (lipsync_core.media.rules.InputSpec), e.g. {"basic": {"max_fps": 25}}.
    input_specs: str = ""
    allow_local_urls: bool = False  # http and private result URLs: only for the offline runtime
    # Flow control, shared by every execution (0: unlimited). The service's limits are per action
    # and per req_key; ``flow_limits`` (JSON, per mode) overrides these defaults for one mode, e.g.
    # {"basic": {"submit_qps": 1, "poll_qps": 5, "max_unfinished": 2}}.
    submit_qps: float = 1.0
    poll_qps: float = 5.0
    max_unfinished_tasks: int = 10
    flow_limits: str = ""
    # Event sources whose ``LipSync Job Requested`` events start jobs (comma-separated, at least one).
    request_sources: str = "lipsync.client"
    # Set the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account, retained): the stage's
    # logging needs one in the account and region. Off only where the account already has one
    # (`lipsync doctor` says so).
    api_cloud_watch_role: bool = True
    api_endpoint_type: str = "REGIONAL"  # REGIONAL, EDGE or PRIVATE
    # What the functions run on; everything derived from these lives in lambda_target.py.
    python_version: str = DEFAULT_PYTHON
    architecture: str = "x86_64"  # or arm64
    # bundled: our own Powertools layer, deployable in every region; managed: the layer Powertools
    # publishes (only in the regions it lists, found through an SSM parameter at deploy time).
    powertools_layer: str = "bundled"

    @classmethod
    def from_context(cls, scope: Construct) -> StackConfig:
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = scope.node.try_get_context(CONTEXT_PREFIX + field.name)
            if raw is None:
                continue
            if field.type == "bool":
                values[field.name] = (
                    raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
                )
            elif field.type == "int":
                values[field.name] = int(raw)
            elif field.type == "float":
                values[field.name] = float(raw)
            else:
                values[field.name] = str(raw)
        return cls(**values)

    def __post_init__(self) -> None:
        if not self.allowed_request_sources:
            raise ValueError("request_sources must name at least one event source")
        if self.api_endpoint_type not in ("REGIONAL", "EDGE", "PRIVATE"):
            raise ValueError("api_endpoint_type must be REGIONAL, EDGE or PRIVATE")
        self.lambda_target  # noqa: B018 - validates the runtime fields now, with a clear message
        if self.job_deadline_seconds >= 11 * 3600:
            raise ValueError("job_deadline_seconds must stay under the service's 12-hour task lifetime")
        if not 0 <= self.max_queue_seconds <= MAX_QUEUE_SECONDS:
            raise ValueError(
                f"max_queue_seconds must be 0 (no bound) to {MAX_QUEUE_SECONDS} (a Standard execution "
                "lives at most a year)"
            )
        InputSpecs.from_json(self.input_specs)  # a bad value refused at synth, not at the first job

    @property
    def flow_limits_json(self) -> str:
        """Every mode's limits as the functions read them (``FLOW_LIMITS``)."""
        overrides = json.loads(self.flow_limits) if self.flow_limits.strip() else {}
        defaults = {
            "submit_qps": self.submit_qps,
            "poll_qps": self.poll_qps,
            "max_unfinished": self.max_unfinished_tasks,
        }
        limits = {mode.value: {**defaults, **overrides.get(mode.value, {})} for mode in Mode}
        FlowLimits.parse(json.dumps(limits))  # refuse a bad value at synth, not at run time
        return json.dumps(limits, separators=(",", ":"), sort_keys=True)

    @property
    def allowed_request_sources(self) -> list[str]:
        return [s.strip() for s in self.request_sources.split(",") if s.strip()]

    @property
    def state_machine_timeout(self) -> cdk.Duration | None:
        """A backstop past the longest wait in the line and the job deadline after it, which the wait's
        own timeout and the poll step enforce first (None: the line has no bound, nor has this)."""
        if not self.max_queue_seconds:
            return None
        return cdk.Duration.seconds(self.max_queue_seconds + self.job_deadline_seconds + 1800)

    @property
    def line_timeout(self) -> cdk.Duration | None:
        """How long the ``WaitForAdmission`` task may wait (None: no bound)."""
        return cdk.Duration.seconds(self.max_queue_seconds) if self.max_queue_seconds else None

    @property
    def lambda_target(self) -> LambdaTarget:
        return LambdaTarget(self.python_version, self.architecture, self.powertools_layer)
