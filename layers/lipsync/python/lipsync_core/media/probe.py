"""What an input holds, from its headers: container, size, duration, and its first video and audio
streams (codec, resolution, frame rate, sample rate, channels), each proven decodable by decoding its
first frame. Read through any seekable file, such as a ``RangedReader``: a few blocks, not the file."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import IO, Any

import av

from .errors import MediaError, MediaProblem


@dataclass(frozen=True)
class StreamInfo:
    codec: str
    duration: float | None
    decodable: bool
    error: str | None = None  # why its first frame did not decode
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    container: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "wav", "mp3"
    size: int
    duration: float | None
    video: StreamInfo | None
    audio: StreamInfo | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, without empty fields (for state payloads and job records)."""
        compact: dict[str, Any] = _compact(asdict(self))
        return compact

    @property
    def formats(self) -> set[str]:
        return set(self.container.split(","))


def probe(file: IO[bytes] | io.RawIOBase, *, size: int, name: str) -> MediaInfo:
    """``name``: how messages call the file ("the video", "the voice")."""
    if size == 0:
        raise MediaError(MediaProblem.EMPTY, f"{name} is empty")
    try:
        with av.open(file, mode="r") as container:
            video = _first_frame(container, container.streams.video)
            audio = _first_frame(container, container.streams.audio)
            duration = container.duration / av.time_base if container.duration else None
            return MediaInfo(container.format.name, size, duration, video, audio)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise MediaError(MediaProblem.UNDECODABLE, f"cannot read {name}: {error}") from None


def _first_frame(container: Any, streams: Any) -> StreamInfo | None:
    if not streams:
        return None
    stream = streams[0]
    context = stream.codec_context
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    error = None
    try:
        container.seek(0)
        decoded = next(container.decode(stream), None)
        if decoded is None:
            error = "no frame decodes"
    except (av.error.FFmpegError, StopIteration) as exc:
        error = str(exc)
    codec = context.codec.canonical_name  # the format's name (mp3), not the decoder's (mp3float)
    common = {"codec": codec, "duration": duration, "decodable": error is None, "error": error}
    if stream.type == "video":
        rate = stream.average_rate or stream.guessed_rate
        return StreamInfo(
            **common,
            width=context.width,
            height=context.height,
            fps=round(float(Fraction(rate)), 3) if rate else None,
        )
    return StreamInfo(**common, sample_rate=context.sample_rate, channels=context.channels)


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    return value
