"""Typed job request and state payloads (pydantic, as Powertools Parser uses); the stored record is
``records``.

Option and URL checks reuse ``lipsync_core.volc.models`` so that a job request and a direct
``VolcClient`` call are validated by the same code.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from lipsync_core.volc.models import (
    MAX_URL_LENGTH,
    Mode,
    RequestValidationError,
    build_req_json,
    normalise_input_url,
    validate_options,
)

from .documents import MAX_AIGC_META_CHARS, MAX_MODE_CHARS, MAX_OPTION_NUMBER, MAX_VERSION_ID_CHARS
from .segmenting import SegmentPlan

JOB_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"  # also a valid Step Functions execution name
# Ids the pipeline derives (API idempotency keys, S3 deliveries, EventBridge events) start with these;
# a caller-chosen id may not, so it can never take the id another caller's delivery will derive.
DERIVED_JOB_ID_PREFIXES = ("api-", "s3-", "eb-")
DERIVED_JOB_ID_PATTERN = "^([aA][pP][iI]|[sS]3|[eE][bB])-"  # the same, for JSON Schema's "not"
# A record's id: a job's, or a segment's (``<job_id>.s<n>``, ``domain.segmenting``), which no caller can
# choose ('.' is not in a job id) and which names no execution of its own.
RECORD_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}(\.s[0-9]{1,4})?$"
RecordId = Annotated[str, Field(pattern=RECORD_ID_PATTERN)]


def _caller_job_id(value: str) -> str:
    if value.lower().startswith(DERIVED_JOB_ID_PREFIXES):
        reserved = ", ".join(f"'{p}'" for p in DERIVED_JOB_ID_PREFIXES)
        raise ValueError(f"a job_id must not start with {reserved}: those ids are derived by the pipeline")
    return value


CallerJobId = Annotated[
    str,
    Field(pattern=JOB_ID_PATTERN, json_schema_extra={"not": {"pattern": DERIVED_JOB_ID_PATTERN}}),
    AfterValidator(_caller_job_id),
]
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Location(_Strict):
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    key: str = Field(min_length=1, max_length=1024)
    version_id: str | None = Field(default=None, min_length=1, max_length=MAX_VERSION_ID_CHARS)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class MediaRef(_Strict):
    """Where an input lives: an object in S3, or a URL the service can fetch."""

    s3: S3Location | None = None
    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)

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

    @field_validator("key")
    @classmethod
    def _normalised(cls, key: str | None) -> str | None:
        """A key names one place: no '.', '..' or empty segments (S3 keeps them literally, and a
        presigned URL for such a key cannot be fetched), and no control characters."""
        if key is None:
            return None
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in key):
            raise ValueError("the key must not contain control characters")
        if any(segment in ("", ".", "..") for segment in key.split("/")):
            raise ValueError("the key must be normalised: no empty, '.' or '..' segments")
        return key


_MEDIA_REF_SCHEMA: dict[str, Any] = {
    "description": "An input: 's3://bucket/key', an https URL, or an object with 's3' or 'url'",
    "oneOf": [
        {
            "type": "string",
            "pattern": "^(s3://[a-z0-9][a-z0-9.-]+[a-z0-9]/.+|https://.+)$",
            "maxLength": MAX_URL_LENGTH,
        },
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
                        "version_id": {"type": ["string", "null"], "maxLength": MAX_VERSION_ID_CHARS},
                    },
                },
                "url": {"type": "string", "pattern": "^https://", "maxLength": MAX_URL_LENGTH},
            },
            "minProperties": 1,
            "maxProperties": 1,
        },
    ],
}
MediaInput = Annotated[MediaRef, WithJsonSchema(_MEDIA_REF_SCHEMA)]
# Checked by ``validate_options`` (types strictly: "true" or "1.5" is refused, not coerced).
OptionValue = Annotated[
    Any,
    WithJsonSchema(
        {"anyOf": [{"type": "boolean"}, {"type": "number", "minimum": 0, "maximum": MAX_OPTION_NUMBER}]}
    ),
]
AigcValue = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_AIGC_META_CHARS)]


# Higher priorities are admitted from the line first; within a priority, first in, first out.
Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")  # in the order they are admitted


WebhookEvent = Literal["succeeded", "failed", "cancelled"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("succeeded", "failed", "cancelled")


class WebhookTarget(_Strict):
    """Where the job's terminal events are POSTed, signed (Standard Webhooks; see ``webhooks``)."""

    url: str = Field(max_length=2048)
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS), min_length=1, max_length=3
    )

    @model_validator(mode="after")
    def _checked(self, info: ValidationInfo) -> WebhookTarget:
        """The input URLs' checks (no credentials, a host, no control characters) and https."""
        try:
            url = normalise_input_url(self.url, field_name="webhook url")
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None
        allow_http = bool((info.context or {}).get("allow_http"))
        if not url.startswith("https://") and not allow_http:
            raise ValueError("webhook url must be https")
        object.__setattr__(self, "url", url)
        return self


class JobRequest(_Strict):
    """What a user asks for, whichever entry point it came through."""

    mode: Mode
    video: MediaInput
    audio: MediaInput
    options: dict[str, OptionValue] = Field(default_factory=dict, max_length=8)
    aigc_meta: dict[str, AigcValue] | None = Field(default=None, max_length=4)
    output: OutputLocation | None = None
    job_id: CallerJobId | None = None
    webhook: WebhookTarget | None = None
    # Convert inputs the service is known to dislike into its recommended ranges before paying
    # (``lipsync_core.media.rules``); false: send them as they are (refusals still apply).
    normalize: bool = Field(default=True, strict=True)
    priority: Priority = "normal"

    @classmethod
    def under_policy(cls, raw: Any, *, allow_http: bool) -> JobRequest:
        """``raw`` validated under a URL policy: https only, unless the stack is local (``allow_http``)."""
        return cls.model_validate(raw, context={"allow_http": allow_http})

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Mode:
        if isinstance(value, Mode):
            return value
        if not isinstance(value, str) or len(value) > MAX_MODE_CHARS:
            raise ValueError(f"mode must be a string of at most {MAX_MODE_CHARS} characters")
        try:
            return Mode.parse(value)
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("options")
    @classmethod
    def _options_for_mode(cls, options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        mode = info.data.get("mode")
        if mode is None:
            return options  # the mode's own error is reported
        try:
            clean = validate_options(mode, options)
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None
        for name, value in clean.items():
            if not isinstance(value, bool) and value > MAX_OPTION_NUMBER:
                raise ValueError(f"option {name!r} must be at most {MAX_OPTION_NUMBER:g}")
        return clean

    @field_validator("aigc_meta")
    @classmethod
    def _aigc_meta(cls, aigc_meta: dict[str, str] | None) -> dict[str, str] | None:
        try:
            build_req_json(aigc_meta)
        except RequestValidationError as exc:
            raise ValueError(str(exc)) from None
        return aigc_meta


class Cursor(_Strict):
    """The small state the workflow carries between Submit, Wait, Poll and Choice."""

    task_id: str
    attempt: int = Field(ge=1)
    status: str  # a ``contract.CursorStatus``: submitted, or the service's task status
    wait_seconds: int = Field(ge=0)
    polls: int = Field(default=0, ge=0)  # polls of this task
    progress: float | None = None
    # Real seconds from the submission to the last poll that found the task unfinished: with the poll
    # that finds it done, they bound how long the task took (``domain.task_times``).
    unfinished_at: float | None = None
    busy: int = Field(default=0, ge=0)  # consecutive throttled or unavailable answers to polls
    # Poll rounds of this task's job or segment, over all its submissions: each adds to the execution's
    # history, which has a quota (``poll_policy.history_floor``).
    rounds: int = Field(default=0, ge=0)
    # Once ``done``: the answer that said so (result URL, request id, resp_data), so that CopyResult
    # need not ask again: every CVGetResult spends the shared poll budget.
    result: dict[str, Any] | None = None


class Admission(_Strict):
    """What the dispatcher hands a job it lets out of the line (``SendTaskSuccess``'s output, at
    ``$.admission``): whose slot it is, and the submit rate slot reserved for it, if any."""

    holder: str  # the unfinished-task slot's holder: the job id (issue 20: a segment's own id)
    admitted_at: float  # epoch seconds
    submit_at: float | None = None  # the reserved CVSubmitTask slot (epoch seconds); None: take one


class _ExecutionState(BaseModel):
    """What every step of an execution receives (extra keys from other states are ignored)."""

    model_config = ConfigDict(extra="ignore")

    job_id: RecordId
    admission: Admission | None = None
    cursor: Cursor | None = None

    @property
    def holder(self) -> str:
        """Whose unfinished-task slot the execution's task holds: the job's (issue 20: a segment's own,
        named at its admission)."""
        return self.admission.holder if self.admission else self.job_id


class JobState(_ExecutionState):
    """The execution's state as the line, Submit, Poll and CopyResult receive it."""

    # Only when a job is started directly, without intake: the line's first step validates it (with
    # the stack's URL policy) and records the job. Otherwise the request lives in the job's record.
    request: dict[str, Any] | None = None


class LineRequest(_Strict):
    """What the ``WaitForAdmission`` task sends the dispatcher: the execution's state so far, and the
    task token that resumes it once it is admitted."""

    state: JobState
    token: str = Field(min_length=1, max_length=2048)  # Step Functions' limit on a task token
    holder: str | None = None  # None: the job itself (issue 20: a segment's own id)


class TaskError(_Strict):
    """A failure as Step Functions' Catch hands it over (``$.error``)."""

    Error: str
    Cause: str | None = None


class FailureState(_ExecutionState):
    error: TaskError


class CopiedResult(_Strict):
    bucket: str
    key: str
    size_bytes: int
    sha256: str
    job_document_key: str
    duration_seconds: float | None = None


class PreparedInput(_Strict):
    """One input after the probe: what it holds, and the input to submit (a normalised copy, or the
    original)."""

    probe: dict[str, Any]
    input: MediaRef
    changes: list[str] = Field(default_factory=list)


class PreparedInputs(_Strict):
    """What ``prepare`` returns: both inputs, notes (recommendations not followed, segments needed)."""

    video: PreparedInput
    audio: PreparedInput
    notes: list[str] = Field(default_factory=list)
    needs_segments: bool = False
    normalized: bool = False  # whether any input was converted
    segments: SegmentPlan | None = None  # a voice over one task's limit: the segments it runs as
