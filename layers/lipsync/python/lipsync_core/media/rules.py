"""What the service can take, what it is known to dislike, and what is changed before paying.

The figures are integrators' (``../shared/volcengine/README.md``, "Limits reported by integrators"),
none of them in the contract: each is a setting, per mode, with the reported value as its default.

* refused, unpaid: no video stream, no audio stream, a stream whose first frame does not decode, a
  voice under the service's minimum, a voice longer than segmenting allows (``max_total_voice_seconds``);
* changed (``normalize``, default on): a video outside 24-30 fps, outside 512-1920 x 1080 pixels, not
  H.264/H.265, not in MP4/MOV/AVI, or over 100 MB becomes MP4 with H.264 (and AAC) inside them; a voice
  outside 16-48 kHz, in another format, or compressed (MP3, AAC: their encoder delay and padding make a
  duration inexact by tens of milliseconds, which segments and their join cannot afford;
  ``exact_voice``) becomes 16-bit WAV at a rate inside the range;
* noted: a video over 60 s (recommended, not required; long inputs are split into segments), a voice
  over one task's limit (``needs_segments``; refused until segments are made).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from lipsync_core.volc.models import Mode

from .errors import MediaError

if TYPE_CHECKING:  # the probe imports PyAV, which the functions reading these settings do not load
    from .probe import MediaInfo

MB = 1024 * 1024


@dataclass(frozen=True)
class InputSpec:
    video_formats: frozenset[str] = frozenset({"mp4", "mov", "avi"})  # FFmpeg demuxer names
    video_codecs: frozenset[str] = frozenset({"h264", "hevc"})
    min_side: int = 512
    max_long_side: int = 1920
    max_short_side: int = 1080
    min_fps: float = 24.0
    max_fps: float = 30.0
    max_video_bytes: int = 100 * MB
    recommended_video_seconds: float = 60.0
    audio_formats: frozenset[str] = frozenset({"mp3", "wav", "aac", "mp4", "mov"})
    audio_codecs: frozenset[str] = frozenset({"mp3", "pcm_s16le", "aac"})
    min_sample_rate: int = 16000
    max_sample_rate: int = 48000
    max_audio_bytes: int = 50 * MB
    exact_voice: bool = True
    min_voice_seconds: float = 1.0
    max_voice_seconds: float = 240.0  # one task
    max_total_voice_seconds: float = 3600.0  # what segmenting takes on
    # What one JoinSegments invocation re-encodes within Lambda's 15 minutes at its 3,008 MB (about 1.7
    # vCPU), with a margin of two: output pixels (width x height x frames). ``make bench`` measured 1.15e9
    # pixels (10 minutes of 320x240 at 25 fps) joined in 59 s on one core; about 11 minutes of 720p.
    max_join_pixels: float = 1.5e10

    def to_dict(self) -> dict[str, Any]:
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(self).items()}


def _reported() -> dict[Mode, InputSpec]:
    return {Mode.LITE: InputSpec(max_voice_seconds=240.0), Mode.BASIC: InputSpec(max_voice_seconds=150.0)}


@dataclass(frozen=True)
class InputSpecs:
    """Per mode; changed by a JSON document ``{"lite": {"max_fps": 25}, "basic": {...}}``."""

    modes: dict[Mode, InputSpec] = field(default_factory=_reported)

    def of(self, mode: Mode) -> InputSpec:
        return self.modes[mode]

    @classmethod
    def from_json(cls, text: str | None) -> InputSpecs:
        specs = cls()
        overrides = json.loads(text) if text else {}
        if not isinstance(overrides, dict):
            raise ValueError("input specs must be a JSON object by mode")
        names = {f.name: f.type for f in fields(InputSpec)}
        modes = dict(specs.modes)
        for mode_name, values in overrides.items():
            mode = Mode.parse(mode_name)
            unknown = set(values) - set(names)
            if unknown:
                raise ValueError(f"unknown input spec setting(s): {', '.join(sorted(unknown))}")
            typed: dict[str, Any] = {k: frozenset(v) if isinstance(v, list) else v for k, v in values.items()}
            modes[mode] = replace(modes[mode], **typed)
        return cls(modes)


@dataclass(frozen=True)
class VideoPlan:
    width: int
    height: int
    fps: Fraction


@dataclass(frozen=True)
class AudioPlan:
    sample_rate: int


@dataclass(frozen=True)
class Verdict:
    refusals: list[str]
    video_changes: list[str]  # what normalising changes, and why, one sentence each
    audio_changes: list[str]
    notes: list[str]
    video: VideoPlan | None  # None: the video is used as it is
    audio: AudioPlan | None
    segments_note: str | None = None  # why the voice needs segments, when it does

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def needs_segments(self) -> bool:
        return self.segments_note is not None

    @property
    def changes(self) -> list[str]:
        return self.video_changes + self.audio_changes


def judge(video: MediaInfo | MediaError, voice: MediaInfo | MediaError, spec: InputSpec) -> Verdict:
    """Each input as probed, or why it could not be read: every reason to refuse them is given at once."""
    refusals = [*_video_refusals(video), *_voice_refusals(voice, spec)]
    if isinstance(video, MediaError) or isinstance(voice, MediaError) or refusals:
        return Verdict(refusals, [], [], [], None, None)
    video_changes, video_plan = _video_changes(video, spec)
    audio_changes, audio_plan = _audio_changes(voice, spec)
    voice_seconds = _seconds(voice)
    notes = []
    if (video.duration or 0) > spec.recommended_video_seconds:
        recommended = spec.recommended_video_seconds
        notes.append(f"the video lasts {video.duration:.1f} s; under {recommended:g} s is recommended")
    segments_note = None
    if voice_seconds > spec.max_voice_seconds:
        one_task = spec.max_voice_seconds
        segments_note = (
            f"the voice lasts {voice_seconds:.1f} s, over one task's {one_task:g} s: it needs segments"
        )
        notes.append(segments_note)
        too_big = _join_refusal(video, video_plan, voice_seconds, spec)
        if too_big:
            return Verdict([too_big], [], [], [], None, None)
    return Verdict([], video_changes, audio_changes, notes, video_plan, audio_plan, segments_note)


def _join_refusal(
    video: MediaInfo, plan: VideoPlan | None, voice_seconds: float, spec: InputSpec
) -> str | None:
    """Segments whose results one join cannot re-encode in time are refused before any is paid for."""
    stream = video.video
    assert stream is not None
    width, height = (plan.width, plan.height) if plan else (stream.width or 0, stream.height or 0)
    fps = float(plan.fps) if plan else float(stream.fps or spec.max_fps)
    pixels = width * height * fps * voice_seconds
    if pixels <= spec.max_join_pixels:
        return None
    longest = spec.max_join_pixels / (width * height * fps)
    return (
        f"the voice lasts {voice_seconds:.1f} s; at {width}x{height} and {fps:g} fps its segments can be "
        f"joined for at most {longest:.0f} s of voice (a lower resolution joins longer)"
    )


def _seconds(info: MediaInfo) -> float:
    stream = info.audio or info.video
    return float((stream.duration if stream else None) or info.duration or 0.0)


def _video_refusals(video: MediaInfo | MediaError) -> list[str]:
    if isinstance(video, MediaError):
        return [video.message]
    if video.video is None:
        return ["the video has no video stream"]
    if not video.video.decodable:
        return [f"the video's first frame does not decode ({video.video.error})"]
    return []


def _voice_refusals(voice: MediaInfo | MediaError, spec: InputSpec) -> list[str]:
    if isinstance(voice, MediaError):
        return [voice.message]
    if voice.audio is None:
        return ["the voice has no audio stream"]
    if not voice.audio.decodable:
        return [f"the voice's first frame does not decode ({voice.audio.error})"]
    seconds = _seconds(voice)
    if seconds < spec.min_voice_seconds:
        return [f"the voice lasts {seconds:.2f} s; the service needs at least {spec.min_voice_seconds:g} s"]
    if seconds > spec.max_total_voice_seconds:
        return [f"the voice lasts {seconds:.1f} s; segments take at most {spec.max_total_voice_seconds:g} s"]
    return []


def _video_changes(info: MediaInfo, spec: InputSpec) -> tuple[list[str], VideoPlan | None]:
    stream = info.video
    assert stream is not None
    assert stream.width
    assert stream.height
    changes = []
    width, height = fit(stream.width, stream.height, spec)
    if (width, height) != (stream.width, stream.height):
        changes.append(
            f"resolution {stream.width}x{stream.height} -> {width}x{height} (recommended "
            f"{spec.min_side}-{spec.max_long_side} x {spec.max_short_side})"
        )
    found_fps = Fraction(stream.fps or spec.max_fps).limit_denominator(1001)
    fps = frame_rate(found_fps, spec)
    if fps != found_fps:
        recommended = f"{spec.min_fps:g}-{spec.max_fps:g}"
        changes.append(f"frame rate {float(found_fps):g} -> {float(fps):g} fps (recommended {recommended})")
    if stream.codec not in spec.video_codecs:
        changes.append(f"codec {stream.codec} -> h264 (recommended: {', '.join(sorted(spec.video_codecs))})")
    if not info.formats & spec.video_formats:
        changes.append(
            f"container {info.container} -> mp4 (recommended: {', '.join(sorted(spec.video_formats))})"
        )
    if info.size > spec.max_video_bytes:
        changes.append(
            f"size {info.size / MB:.0f} MB -> re-encoded (recommended under {spec.max_video_bytes / MB:g} MB)"
        )
    return changes, (VideoPlan(width, height, fps) if changes else None)


def _audio_changes(info: MediaInfo, spec: InputSpec) -> tuple[list[str], AudioPlan | None]:
    stream = info.audio
    assert stream is not None
    changes = []
    found = int(stream.sample_rate or spec.min_sample_rate)
    rate = min(max(found, spec.min_sample_rate), spec.max_sample_rate)
    if rate != found:
        changes.append(
            f"sample rate {found} -> {rate} Hz (recommended {spec.min_sample_rate}-{spec.max_sample_rate})"
        )
    if stream.codec not in spec.audio_codecs or not info.formats & spec.audio_formats:
        changes.append(f"format {info.container}/{stream.codec} -> WAV (recommended: MP3, WAV, AAC)")
    elif spec.exact_voice and stream.codec != "pcm_s16le":
        changes.append(
            f"format {stream.codec} -> WAV (a compressed voice's duration is inexact: segments need it exact)"
        )
    if info.size > spec.max_audio_bytes:
        changes.append(
            f"size {info.size / MB:.0f} MB (recommended under {spec.max_audio_bytes / MB:g} MB) -> WAV"
        )
    return changes, (AudioPlan(rate) if changes else None)


def fit(width: int, height: int, spec: InputSpec) -> tuple[int, int]:
    """The size within the recommended box (aspect kept, even sides for H.264's 4:2:0)."""
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, spec.max_long_side / long_side, spec.max_short_side / short_side)
    if scale == 1.0 and short_side < spec.min_side:
        scale = min(spec.min_side / short_side, spec.max_long_side / long_side)
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def frame_rate(found: Fraction, spec: InputSpec) -> Fraction:
    """Inside the range; above it, the largest whole fraction of the rate that fits (60 -> 30, 50 -> 25,
    120 -> 30), so frames are dropped evenly; below it, the minimum (frames repeated)."""
    if spec.min_fps <= found <= spec.max_fps:
        return found
    if found < spec.min_fps:
        return Fraction(spec.min_fps).limit_denominator(1001)
    divisor = math.ceil(found / Fraction(spec.max_fps).limit_denominator(1001))
    candidate = found / divisor
    return candidate if candidate >= spec.min_fps else Fraction(spec.max_fps).limit_denominator(1001)
