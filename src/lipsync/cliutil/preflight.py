"""Mistakes found before anything starts (no stack, no upload, no payment): the inputs, ``--out``,
the options, through the same request model and PyAV probe the stack and the service use, each
answered once in one plain sentence."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .output import InputError

_PLACEHOLDER = {"video": "s3://placeholder-bucket/video", "audio": "s3://placeholder-bucket/audio"}


@dataclass(frozen=True)
class Inputs:
    """Each input is a local file to upload or a reference (``s3://`` or a URL) the request takes."""

    video: Path | str
    audio: Path | str

    def local(self) -> dict[str, Path]:
        return {n: p for n, p in (("video", self.video), ("audio", self.audio)) if isinstance(p, Path)}


def _input(text: str, what: str) -> Path | str:
    if "://" in text:
        if not text.startswith(("s3://", "https://", "http://")):
            raise InputError(f"the {what} {text!r} is neither a file, an s3:// URI nor an http(s) URL")
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"the {what} file {text} does not exist")
    if not path.is_file():
        raise InputError(f"the {what} {text} is not a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"the {what} file {text} cannot be read")
    return path


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it can be (true, 1.5), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--option takes key=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def parse_options(texts: list[str]) -> dict[str, Any]:
    return dict(parse_option(text) for text in texts)


def prepare(args: argparse.Namespace, *, allow_http: bool) -> tuple[Inputs, dict[str, Any]]:
    """Every check of a job request's arguments that needs nothing running: files, URLs, options, the
    media's streams."""
    options = parse_options(args.option)
    inputs = check_inputs(args.video, args.audio)
    check_request(args.mode, options, inputs, allow_http=allow_http)
    probe(inputs)
    return inputs, options


def check_inputs(video: str, audio: str) -> Inputs:
    return Inputs(_input(video, "video"), _input(audio, "audio"))


def check_request(mode: str, options: dict[str, Any], inputs: Inputs, *, allow_http: bool) -> None:
    """The stack's own request model, with the local files standing in as S3 objects."""
    from pydantic import ValidationError  # the request model's imports are slow: not for `--help`

    from lipsync_core.jobs.domain.models import JobRequest
    from lipsync_core.jobs.entry.requests import validation_errors
    from lipsync_core.volc.models import Mode, RequestValidationError, validate_options

    try:
        validate_options(Mode.parse(mode), options)  # first: its messages are the plainest
    except RequestValidationError as error:
        raise InputError(str(error).rstrip(".")) from None
    request = {
        "mode": mode,
        "video": _PLACEHOLDER["video"] if isinstance(inputs.video, Path) else inputs.video,
        "audio": _PLACEHOLDER["audio"] if isinstance(inputs.audio, Path) else inputs.audio,
        "options": options,
    }
    try:
        JobRequest.model_validate(request, context={"allow_http": allow_http})
    except ValidationError as error:
        first = validation_errors(error)[0]
        message = str(first["message"]).removeprefix("Value error, ")
        field = first["field"].split(".")[0]
        raise InputError(message if field == "(request)" else f"{field}: {message}") from None


def probe(inputs: Inputs) -> None:
    """Decode the local files as the service would (PyAV): a video stream with frames, a voice track.
    Only with PyAV installed (the ``media`` extra); without it the stack checks the inputs itself."""
    local = inputs.local()
    if not local:
        return
    try:  # PyAV loads slowly: not for --help
        from lipsync.media.probe import MediaError, probe_audio, probe_video
    except ModuleNotFoundError as error:  # the base install has no PyAV
        if error.name != "av":
            raise
        return
    for what, path in local.items():
        try:
            probe_video(path) if what == "video" else probe_audio(path)
        except MediaError as error:
            raise InputError(f"{path.name} cannot be the {what}: {error.message}") from None


def resolve_out(out: str | Path | None, default_name: str) -> Path:
    """Where the result goes: ``out`` itself, or inside it when it is a directory (or ends with /).
    Checked writable now, by creating a scratch file there, rather than after the job has run."""
    if out is None:
        target = Path("out") / default_name
    elif Path(out).expanduser().is_dir() or str(out).endswith(("/", os.sep)):
        target = Path(out).expanduser() / default_name
    else:
        target = Path(out).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".lipsync-check-"):
            pass
    except OSError as error:
        raise InputError(f"cannot write the result to {target}: {error.strerror or error}") from None
    if target.is_dir():
        raise InputError(f"cannot write the result to {target}: it is a directory")
    return target
