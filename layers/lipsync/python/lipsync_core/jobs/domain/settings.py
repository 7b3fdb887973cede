"""Each function's configuration, from its environment (set by ``infra/``), in one typed model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lipsync_core.media.rules import InputSpecs

from .flow_limits import FlowLimits
from .poll_policy import PollPolicy


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(alias="JOB_TABLE_NAME")
    bucket_name: str = Field(default="", alias="BUCKET_NAME")
    volc_secret_id: str = Field(default="", alias="VOLC_SECRET_ID")
    volc_endpoint: str = Field(default="https://visual.volcengineapi.com", alias="VOLC_ENDPOINT")
    output_prefix: str = Field(default="outputs/", alias="OUTPUT_PREFIX")
    presign_seconds: int = Field(default=6 * 3600, alias="INPUT_URL_EXPIRY_SECONDS")
    input_reader_role_arn: str = Field(default="", alias="INPUT_READER_ROLE_ARN")  # signs input URLs
    job_deadline_seconds: int = Field(default=6 * 3600, alias="JOB_DEADLINE_SECONDS")
    max_attempts: int = Field(default=3, alias="MAX_SUBMIT_ATTEMPTS")
    allow_local_urls: bool = Field(default=False, alias="ALLOW_LOCAL_URLS")
    result_url_hosts: str = Field(default="", alias="RESULT_URL_ALLOWED_HOSTS")
    copy_part_bytes: int = Field(default=8 * 1024 * 1024, alias="COPY_PART_BYTES")
    event_bus_name: str = Field(default="default", alias="EVENT_BUS_NAME")
    event_source: str = Field(default="lipsync.pipeline", alias="EVENT_SOURCE")
    state_machine_arn: str = Field(default="", alias="STATE_MACHINE_ARN")
    upload_url_seconds: int = Field(default=3600, alias="UPLOAD_URL_EXPIRY_SECONDS")
    result_url_seconds: int = Field(default=3600, alias="RESULT_URL_EXPIRY_SECONDS")
    url_signer_role_arn: str = Field(default="", alias="URL_SIGNER_ROLE_ARN")  # signs the API's URLs
    poll_first_seconds: int = Field(default=PollPolicy.first_seconds, alias="POLL_FIRST_SECONDS")
    poll_growth: float = Field(default=PollPolicy.growth, alias="POLL_GROWTH")
    poll_max_seconds: int = Field(default=PollPolicy.max_seconds, alias="POLL_MAX_SECONDS")
    poll_short_seconds: int = Field(default=PollPolicy.short_seconds, alias="POLL_SHORT_SECONDS")
    # Flow control (``access.flow_control``): the shared table and the limits per mode; the line
    # (``access.line``) bounds a job's wait for admission (0: no bound).
    flow_table_name: str = Field(default="", alias="FLOW_TABLE_NAME")
    flow_limits_json: str = Field(default="", alias="FLOW_LIMITS")
    max_queue_seconds: int = Field(default=7 * 86400, ge=0, alias="MAX_QUEUE_SECONDS")
    # Wait states last ``wait_scale`` times their seconds (1 on AWS; the local runtime shrinks them),
    # so a wait measured in real seconds (the next rate slot) is divided by it.
    wait_scale: float = Field(default=1.0, gt=0, alias="LOCAL_TIME_SCALE")
    # Inputs (``lipsync_core.media.rules``): the recommended ranges per mode, as JSON overrides of the
    # integrators' figures, and where normalised copies go.
    input_specs_json: str = Field(default="", alias="INPUT_SPECS")
    prepared_prefix: str = Field(default="prepared/", alias="PREPARED_PREFIX")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        values: dict[str, Any] = dict(os.environ if environ is None else environ)
        return cls.model_validate(values)

    @property
    def poll_policy(self) -> PollPolicy:
        return PollPolicy(
            self.poll_first_seconds, self.poll_growth, self.poll_max_seconds, self.poll_short_seconds
        )

    def wait_seconds(self, real_seconds: float) -> float:
        """A real-time wait in Wait-state seconds."""
        return real_seconds / self.wait_scale

    def real_seconds(self, wait_seconds: float) -> float:
        """How long a Wait state of ``wait_seconds`` lasts in real time."""
        return wait_seconds * self.wait_scale

    @property
    def input_specs(self) -> InputSpecs:
        return InputSpecs.from_json(self.input_specs_json)

    @property
    def flow_limits(self) -> FlowLimits:
        return FlowLimits.parse(self.flow_limits_json)

    @property
    def allowed_result_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.result_url_hosts.split(",") if h.strip())
