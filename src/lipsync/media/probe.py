"""A video or voice file decoded as the service would (PyAV): its streams, size and duration, or why it
cannot serve, in one sentence (``MediaError``, shared with the layer's header probe)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from lipsync_core.media.errors import MediaError, MediaProblem

__all__ = [
    "MAX_VIDEO_SIDE",
    "AudioInfo",
    "MediaError",
    "MediaProblem",
    "VideoInfo",
    "probe_audio",
    "probe_video",
]
MAX_VIDEO_SIDE = 4096  # pixels; the service refuses larger videos


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    duration: float


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    duration: float


def probe_video(path: Path, *, max_side: int = MAX_VIDEO_SIDE) -> VideoInfo:
    """The first frame decoded, the frame rate and duration read."""
    if path.stat().st_size == 0:
        raise MediaError(MediaProblem.EMPTY, "the video file is empty")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(MediaProblem.EMPTY, "the file has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise MediaError(MediaProblem.EMPTY, "the video stream has no frames")
            width, height = first.width, first.height
            fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
            duration = _stream_duration(container, stream)
    except (av.error.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise MediaError(MediaProblem.UNDECODABLE, f"cannot decode the video: {exc}") from None
    if max(width, height) > max_side:
        raise MediaError(MediaProblem.TOO_LARGE, f"{width}x{height} is over {max_side} pixels a side")
    return VideoInfo(width, height, fps, duration)


def probe_audio(path: Path, *, name: str = "the file") -> AudioInfo:
    """The whole voice track decoded: its exact length decides the result's length. ``name``: how
    messages call the file."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(MediaProblem.EMPTY, f"{name} has no audio stream")
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(stream))
            rate = stream.rate or stream.codec_context.sample_rate
            channels = stream.codec_context.channels
    except av.error.FFmpegError as exc:
        raise MediaError(MediaProblem.UNDECODABLE, f"cannot decode {name}: {exc}") from None
    if not samples or not rate:
        raise MediaError(MediaProblem.EMPTY, f"{name} has no audio samples")
    return AudioInfo(int(rate), int(channels), samples / rate)


def _stream_duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return 0.0
