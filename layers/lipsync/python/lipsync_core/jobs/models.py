"""Typed job request, job record and state payloads (pydantic, as Powertools Parser uses).

Option and URL checks reuse ``lipsync_core.volc.models`` so that a job request and a direct
``VolcClient`` call are validated by the same code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from lipsync_core.volc.models import (
    Mode,
    RequestValidationError,
    build_req_json,
    normalise_input_url,
    validate_options,
)

JOB_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"  # also a valid Step Functions execution name
JobId = Annotated[str, Field(pattern=JOB_ID_PATTERN)]
JobStatus = Literal["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Location(_Strict):
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    key: str = Field(min_length=1, max_length=1024)
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class MediaRef(_Strict):
    """Where an input lives: an object in S3, or a URL the service can fetch."""

    s3: S3Location | None = None
    url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _S3_URI.match(value)
            if match:
                return {"s3": {"bucket": match["bucket"], "key": match["key"]}}
            return {"url": value}
        return value

    @model_validator(mode="after")
    def _exactly_one(self, info: ValidationInfo) -> MediaRef:
        if (self.s3 is None) == (self.url is None):
            raise ValueError("give either 's3' (bucket and key) or 'url', not both or neither")
        if self.url is not None:
            try:
                url = normalise_input_url(self.url, field_name="url")
            except RequestValidationError as exc:
                raise ValueError(str(exc)) from None
            allow_http = bool((info.context or {}).get("allow_http"))
            if not url.startswith("https://") and not allow_http:
                raise ValueError("url must be https")
            object.__setattr__(self, "url", url)
        return self


class OutputLocation(_Strict):
    bucket: str | None = Field(default=None, min_length=3, max_length=63)
    key: str | None = Field(default=None, min_length=1, max_length=1000, pattern=r"^[^/].*\.mp4$")


_MEDIA_REF_SCHEMA: dict[str, Any] = {
    "description": "An input: 's3://bucket/key', an https URL, or an object with 's3' or 'url'",
    "oneOf": [
        {"type": "string", "pattern": "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9]/.+|https://.+)$"},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "s3": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["bucket", "key"],
                    "properties": {
                        "bucket": {"type": "string", "minLength": 3, "maxLength": 63},
                        "key": {"type": "string", "minLength": 1, "maxLength": 1024},
                        "version_id": {"type": ["string", "null"]},
                    },
                },
                "url": {"type": "string", "pattern": "^https://"},
            },
            "minProperties": 1,
            "maxProperties": 1,
        },
    ],
}
MediaInput = Annotated[MediaRef, WithJsonSchema(_MEDIA_REF_SCHEMA)]


WebhookEvent = Literal["succeeded", "failed", "cancelled"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("succeeded", "failed", "cancelled")


class WebhookTarget(_Strict):
    """Where the job's terminal events are POSTed, signed (Standard Webhooks; see ``webhooks``)."""

    url: str = Field(max_length=2048)
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS), min_length=1, max_length=3
    )

    @model_validator(mode="after")
    def _scheme(self, info: ValidationInfo) -> WebhookTarget:
        allow_http = bool((info.context or {}).get("allow_http"))
        if not self.url.startswith("https://") and not (allow_http and self.url.startswith("http://")):
            raise ValueError("webhook url must be https")
        return self


class JobRequest(_Strict):
    """What a user asks for, whichever entry point it came through."""

    mode: Mode
    video: MediaInput
    audio: MediaInput
    options: dict[str, bool | float] = Field(default_factory=dict)
    aigc_meta: dict[str, str] | None = None
    output: OutputLocation | None = None
    job_id: JobId | None = None
    webhook: WebhookTarget | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Mode:
        try:
            return Mode.parse(value)
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _options_for_mode(self) -> JobRequest:
        try:
            clean = validate_options(self.mode, self.options)
            build_req_json(self.aigc_meta)
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None
        object.__setattr__(self, "options", clean)
        return self


class Cursor(_Strict):
    """The small state the workflow carries between Submit, Wait, Poll and Choice."""

    task_id: str
    attempt: int = Field(ge=1)
    status: str  # submitted, or the service's task status
    wait_seconds: int = Field(ge=0)
    polls: int = Field(default=0, ge=0)
    progress: float | None = None


class JobState(BaseModel):
    """The execution's state as handlers receive it (extra keys from other states are ignored)."""

    model_config = ConfigDict(extra="ignore")

    job_id: JobId
    # Validated by the step that uses it (``JobRequest.model_validate`` with the URL policy as context).
    request: dict[str, Any] | None = None
    cursor: Cursor | None = None


class TaskError(_Strict):
    """A failure as Step Functions' Catch hands it over (``$.error``)."""

    Error: str
    Cause: str | None = None


class FailureState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: JobId
    cursor: Cursor | None = None
    error: TaskError


class CopiedResult(_Strict):
    bucket: str
    key: str
    size_bytes: int
    sha256: str
    job_document_key: str
    duration_seconds: float | None = None
