"""Typed requests and answers of the lip-sync API, validated before anything is signed or paid for.

Plain dataclasses (no pydantic) so the client layer stays small and quick to import; the job
models build on these checks rather than repeating them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

TaskStatus = Literal["in_queue", "generating", "done", "not_found", "expired"]
TASK_STATUSES: tuple[str, ...] = ("in_queue", "generating", "done", "not_found", "expired")
MAX_URL_LENGTH = 4096


class RequestValidationError(ValueError):
    """A request that must not be sent: the message names the offending field."""


class Mode(StrEnum):
    """The two service tiers, named as users know them."""

    LITE = "lite"
    BASIC = "basic"

    @property
    def req_key(self) -> str:
        return _REQ_KEYS[self]

    @classmethod
    def parse(cls, value: str | Mode) -> Mode:
        """Accept ``lite``/``basic`` or the service's ``req_key``."""
        if isinstance(value, Mode):
            return value
        lowered = str(value).strip().lower()
        for mode in cls:
            if lowered in (mode.value, mode.req_key):
                return mode
        known = ", ".join(f"{m.value} ({m.req_key})" for m in cls)
        raise RequestValidationError(f"unknown mode {value!r}: expected one of {known}")


_REQ_KEYS = {Mode.LITE: "realman_change_lips", Mode.BASIC: "realman_change_lips_basic_chimera"}


@dataclass(frozen=True)
class _OptionSpec:
    kind: type
    modes: frozenset[Mode]
    description: str


OPTION_SPECS: dict[str, _OptionSpec] = {
    "separate_vocal": _OptionSpec(bool, frozenset(Mode), "separate the voice from background sound"),
    "open_scenedet": _OptionSpec(bool, frozenset({Mode.BASIC}), "scene cuts and speaker detection"),
    "align_audio": _OptionSpec(bool, frozenset({Mode.LITE}), "loop the video to the voice's length"),
    "align_audio_reverse": _OptionSpec(bool, frozenset({Mode.LITE}), "loop forward and backward alternately"),
    "templ_start_seconds": _OptionSpec(float, frozenset({Mode.LITE}), "template start, in seconds"),
}


def validate_options(mode: Mode, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check each option's name, type and mode; return a clean copy (``None`` values dropped)."""
    clean: dict[str, Any] = {}
    for name, value in (options or {}).items():
        spec = OPTION_SPECS.get(name)
        if spec is None:
            raise RequestValidationError(
                f"unknown option {name!r}: valid options are {', '.join(sorted(OPTION_SPECS))}"
            )
        if mode not in spec.modes:
            allowed = " and ".join(sorted(m.value for m in spec.modes))
            raise RequestValidationError(
                f"option {name!r} is only valid in {allowed} mode, not in {mode.value} mode"
            )
        if value is None:
            continue
        if spec.kind is bool:
            if not isinstance(value, bool):
                raise RequestValidationError(f"option {name!r} must be true or false, got {value!r}")
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise RequestValidationError(f"option {name!r} must be a number, got {value!r}")
            if value < 0:
                raise RequestValidationError(f"option {name!r} must not be negative, got {value!r}")
            value = float(value)
        clean[name] = value
    if clean.get("align_audio_reverse") and clean.get("align_audio") is False:
        raise RequestValidationError("option 'align_audio_reverse' needs 'align_audio' (it is false)")
    return clean


# Characters left as they are when quoting a URL: RFC 3986 reserved and unreserved, and '%'
# so that existing escapes (as in presigned S3 URLs) survive untouched.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def normalise_input_url(url: str, *, field_name: str) -> str:
    """Check that ``url`` is an absolute http(s) URL the service can fetch; percent-encode
    non-ASCII characters and spaces (IRI to URI) while keeping existing escapes."""
    if not isinstance(url, str) or not url.strip():
        raise RequestValidationError(f"{field_name} is required")
    url = url.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise RequestValidationError(f"{field_name} contains control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise RequestValidationError(f"{field_name} must be an http(s) URL, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise RequestValidationError(f"{field_name} has no host")
    if "@" in parts.netloc:  # userinfo, even empty ("https://@host/"): credentials do not go in URLs
        raise RequestValidationError(f"{field_name} must not embed credentials")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise RequestValidationError(f"{field_name} has an invalid host name") from exc
    try:
        port = parts.port
    except ValueError:
        raise RequestValidationError(f"{field_name} has an invalid port") from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    normalised = urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=_PATH_SAFE),
            quote(parts.query, safe=_QUERY_SAFE),
            "",
        )
    )
    if len(normalised) > MAX_URL_LENGTH:
        raise RequestValidationError(f"{field_name} is longer than {MAX_URL_LENGTH} characters")
    return normalised


@dataclass(frozen=True)
class SubmitTaskRequest:
    """A validated ``CVSubmitTask`` body."""

    mode: Mode
    video_url: str
    audio_url: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        mode: str | Mode,
        video_url: str,
        audio_url: str,
        options: Mapping[str, Any] | None = None,
    ) -> SubmitTaskRequest:
        parsed = Mode.parse(mode)
        return cls(
            mode=parsed,
            video_url=normalise_input_url(video_url, field_name="video url"),
            audio_url=normalise_input_url(audio_url, field_name="audio url"),
            options=validate_options(parsed, options),
        )

    def to_body(self) -> dict[str, Any]:
        return {
            "req_key": self.mode.req_key,
            "url": self.video_url,
            "pure_audio_url": self.audio_url,
            **self.options,
        }


AIGC_META_FIELDS = ("content_producer", "producer_id", "content_propagator", "propagate_id")


def build_req_json(aigc_meta: Mapping[str, str] | None) -> str | None:
    """The ``req_json`` string for ``CVGetResult``: AIGC labels, sent as a JSON *string*."""
    if not aigc_meta:
        return None
    unknown = set(aigc_meta) - set(AIGC_META_FIELDS)
    if unknown:
        raise RequestValidationError(
            f"unknown aigc_meta field(s) {', '.join(sorted(unknown))}: "
            f"valid fields are {', '.join(AIGC_META_FIELDS)}"
        )
    for name, value in aigc_meta.items():
        if not isinstance(value, str) or not value:
            raise RequestValidationError(f"aigc_meta.{name} must be a non-empty string")
    return json.dumps({"aigc_meta": dict(aigc_meta)}, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class SubmitTaskResult:
    task_id: str
    request_id: str | None
    time_elapsed: str | None


@dataclass(frozen=True)
class TaskResult:
    """A ``CVGetResult`` answer. ``resp_data`` is parsed from the service's JSON string."""

    status: str
    video_url: str | None
    resp_data: dict[str, Any] | None
    code: int
    message: str
    request_id: str | None
    time_elapsed: str | None

    @property
    def is_finished(self) -> bool:
        return self.status == "done"

    @property
    def progress(self) -> float | None:
        """Progress in percent when the service reports it."""
        data = self.resp_data or {}
        for key in ("progress", "percent", "process"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        return None


def parse_resp_data(raw: Any) -> dict[str, Any] | None:
    """``resp_data`` is documented as a JSON string; tolerate an object or garbage."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"raw": raw[:1000]}
        return value if isinstance(value, dict) else {"value": value}
    return {"value": raw}
