"""The emulator's media work, with PyAV: fetch a task's inputs, check them as the service does (with
its error codes), render the result video.

The result is the template video from ``templ_start_seconds``, re-timed to the voice's duration
(loop, ping-pong, or hold the last frame), with the voice as its audio, H.264 and AAC in MP4, and a
visible "EMULATED" mark. The mouth does not move: that is the real service's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import requests

from lipsync.media import probe
from lipsync.media.probe import MAX_VIDEO_SIDE, AudioInfo, MediaError, MediaProblem, VideoInfo

from . import errors

DOWNLOAD_CHUNK = 256 * 1024
MAX_TEMPLATE_FRAMES = 3000  # frames buffered from the template; enough for two minutes at 25 fps


class Retime(StrEnum):
    LOOP = "loop"  # Lite with align_audio
    PING_PONG = "ping_pong"  # Lite with align_audio and align_audio_reverse
    HOLD = "hold"  # Basic, or Lite without align_audio: the last frame is held


@dataclass(frozen=True)
class Limits:
    max_video_bytes: int = 500 * 1024 * 1024
    max_audio_bytes: int = 100 * 1024 * 1024
    max_video_side: int = MAX_VIDEO_SIDE
    download_timeout: float = 30.0


def download(url: str, destination: Path, *, max_bytes: int, what: str, timeout: float) -> int:
    """Fetch ``url`` into ``destination``, refusing bodies over ``max_bytes``. Returns the size."""
    too_big = errors.video_size_limited if what == "video" else errors.body_size_limited
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise errors.invalid_args(f"cannot download {what} url: HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise too_big(f"{what} is {declared} bytes, the limit is {max_bytes}")
            size = 0
            with destination.open("wb") as out:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_big(f"{what} is over the limit of {max_bytes} bytes")
                    out.write(chunk)
    except requests.RequestException as exc:
        raise errors.invalid_args(f"cannot download {what} url: {type(exc).__name__}") from None
    return size


_VIDEO_ERRORS = {
    MediaProblem.EMPTY: errors.video_empty,
    MediaProblem.UNDECODABLE: errors.video_decode_error,
    MediaProblem.TOO_LARGE: errors.video_size_limited,
}


def probe_video(path: Path, limits: Limits) -> VideoInfo:
    """``probe.probe_video``, its refusal answered as the service does (50209, 50210 or 50211)."""
    try:
        return probe.probe_video(path, max_side=limits.max_video_side)
    except MediaError as error:
        raise _VIDEO_ERRORS[error.problem](error.message) from None


def probe_audio(path: Path) -> AudioInfo:
    """``probe.probe_audio``, its refusal answered as the service does (50200)."""
    try:
        return probe.probe_audio(path, name="pure_audio_url")
    except MediaError as error:
        raise errors.invalid_args(error.message) from None


def frame_sequence(available: int, needed: int, retime: Retime) -> list[int]:
    """Which template frame each output frame shows."""
    if available <= 0:
        return []
    if retime is Retime.LOOP:
        return [i % available for i in range(needed)]
    if retime is Retime.PING_PONG and available > 1:
        period = 2 * available - 2
        return [(i % period) if (i % period) < available else period - (i % period) for i in range(needed)]
    return [min(i, available - 1) for i in range(needed)]


def render(
    video_path: Path,
    audio_path: Path,
    output_path: Path,
    *,
    retime: Retime,
    start_seconds: float = 0.0,
    mark: bool = True,
) -> dict[str, Any]:
    """Write the result MP4; returns its metadata (for ``resp_data``)."""
    voice = probe_audio(audio_path)
    template, fps = _read_template(video_path, start_seconds, needed_seconds=voice.duration)
    height, width = template[0].shape[0] * 2 // 3, template[0].shape[1]
    needed = max(1, round(voice.duration * fps))
    order = frame_sequence(len(template), needed, retime)
    if mark:
        template = [_with_mark(frame, width, height) for frame in template]

    tmp_path = output_path.with_suffix(".part")
    with av.open(str(tmp_path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "26"}
        audio = out.add_stream("aac", rate=voice.sample_rate)
        audio.layout = "mono" if voice.channels == 1 else "stereo"

        for index, source in enumerate(order):
            frame = av.VideoFrame.from_ndarray(template[source], format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1) / fps
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        _encode_voice(audio_path, out, audio)
    tmp_path.replace(output_path)
    return {
        "width": width,
        "height": height,
        "fps": float(fps),
        "frames": needed,
        "duration": round(float(needed / fps), 3),
        "audio_duration": round(voice.duration, 3),
        "size_bytes": output_path.stat().st_size,
    }


def _read_template(
    path: Path, start_seconds: float, needed_seconds: float
) -> tuple[list[np.ndarray], Fraction]:
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        limit = min(MAX_TEMPLATE_FRAMES, math.ceil(needed_seconds * fps) + 1)
        for frame in container.decode(stream):
            if frame.time is not None and frame.time + 1e-6 < start_seconds:
                continue
            if frame.width % 2 or frame.height % 2:
                frame = frame.reformat(
                    width=frame.width - frame.width % 2, height=frame.height - frame.height % 2
                )
            frames.append(frame.to_ndarray(format="yuv420p"))
            if len(frames) >= limit:
                break
    if not frames:
        raise errors.invalid_args(f"templ_start_seconds={start_seconds} is beyond the end of the video")
    return frames, fps


def _encode_voice(audio_path: Path, out: Any, stream: Any) -> None:
    resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
    fifo = av.AudioFifo()
    frame_size = stream.codec_context.frame_size or 1024
    with av.open(str(audio_path)) as source:
        for frame in source.decode(audio=0):
            frame.pts = None
            for resampled in resampler.resample(frame):
                fifo.write(resampled)
            while fifo.samples >= frame_size:
                out.mux(stream.encode(fifo.read(frame_size)))
    for resampled in resampler.resample(None):
        fifo.write(resampled)
    if fifo.samples:
        out.mux(stream.encode(fifo.read(fifo.samples, partial=True)))
    out.mux(stream.encode(None))


# A 5x7 bitmap font, just the letters of "EMULATED".
_GLYPHS = {
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "D": ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
}
MARK_TEXT = "EMULATED"


def mark_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the mark is drawn on the luma plane: (top, left, bottom, right)."""
    scale = max(1, min(width // 120, height // 60))
    text_width = (len(MARK_TEXT) * 6 - 1) * scale
    return 0, 0, min(height, 9 * scale), min(width, text_width + 2 * scale)


def _with_mark(yuv: np.ndarray, width: int, height: int) -> np.ndarray:
    marked = yuv.copy()
    top, left, bottom, right = mark_box(width, height)
    scale = max(1, min(width // 120, height // 60))
    marked[top:bottom, left:right] = 16  # a black box on the luma plane
    x = left + scale
    for letter in MARK_TEXT:
        for row, bits in enumerate(_GLYPHS[letter]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    y0, x0 = top + scale + row * scale, x + col * scale
                    marked[y0 : y0 + scale, x0 : x0 + scale] = 235
        x += 6 * scale
    return marked
