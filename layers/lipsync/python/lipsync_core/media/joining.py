"""Segments' results joined into one video: their frames in order, re-encoded into one H.264 stream at
one frame per ``1/fps``, with the whole voice as the sound.

The sound is the original voice, not the segments' soundtracks: it has no seam to hide, and since each
segment holds a whole number of frames' worth of voice (``segments``), the video's seams fall on the
voice's cuts exactly. Re-encoding, rather than copying the segments' packets, takes results whose
encoders differ (parameter sets, sizes) and leaves no partial group of pictures at a seam; its cost is
CPU time, measured in ``make bench``. A segment whose result holds one frame more or fewer than its
voice (a service that rounds differently) is trimmed or held by that frame, and the report says so; a
larger difference is an error, since it would put sound and picture out of step."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .normalise import AudioEncoder
from .pictures import PictureTrack

TOLERATED_FRAMES = 1


class JoinError(ValueError):
    """A segment's result does not fit its place in the voice."""


@dataclass(frozen=True)
class Seam:
    segment: int  # the seam before this segment
    video_seconds: float  # where the segment's first frame is shown
    voice_seconds: float  # where its voice starts

    @property
    def offset_ms(self) -> float:
        return round((self.video_seconds - self.voice_seconds) * 1000, 3)


@dataclass
class JoinReport:
    frames: int = 0
    fps: float = 0.0
    voice_seconds: float = 0.0
    seams: list[Seam] = field(default_factory=list)
    adjusted: dict[int, int] = field(default_factory=dict)  # segment -> frames added (+) or dropped (-)

    @property
    def video_seconds(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    @property
    def worst_offset_ms(self) -> float:
        return max((abs(seam.offset_ms) for seam in self.seams), default=0.0)


def join(
    parts: list[Path], expected_frames: list[int], voice: Path, destination: Path, *, fps: Fraction
) -> JoinReport:
    """``parts[i]`` is segment ``i``'s result, expected to hold ``expected_frames[i]`` frames."""
    report = JoinReport(fps=float(fps))
    partial = destination.with_name(destination.name + ".part")
    with (
        av.open(str(voice)) as sound,
        av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        video = PictureTrack(out, fps, _first_frame(parts[0]))
        voice_track = _Voice(out, sound)  # interleaved with the pictures, as players read them
        voice_frames = 0
        for index, (part, expected) in enumerate(zip(parts, expected_frames, strict=True)):
            if index:
                report.seams.append(Seam(index, video.count / float(fps), float(voice_frames / fps)))
            found = 0
            last: Any = None
            with av.open(str(part)) as container:
                for frame in container.decode(container.streams.video[0]):
                    if found < expected:  # frames past the expected ones are counted, not shown
                        video.add(frame)
                        voice_track.until(video.count / fps)
                    found += 1
                    last = frame
            if last is None or abs(found - expected) > TOLERATED_FRAMES:
                raise JoinError(
                    f"segment {index}'s result has {found} frames where its voice needs {expected}"
                )
            for _ in range(expected - found):  # a frame short: the last is held
                video.add(last)
            if found != expected:
                report.adjusted[index] = expected - found
            voice_frames += expected
        video.finish()
        report.frames = video.count
        report.voice_seconds = voice_track.finish()
    partial.replace(destination)
    return report


def _first_frame(part: Path) -> Any:
    with av.open(str(part)) as container:
        for frame in container.decode(container.streams.video[0]):
            return frame
    raise JoinError(f"{part.name} has no picture")


class _Voice:
    """The voice, decoded as the pictures advance and encoded to AAC."""

    def __init__(self, out: Any, container: Any) -> None:
        stream = container.streams.audio[0]
        self.rate: int = stream.codec_context.sample_rate
        self.frames = container.decode(stream)
        self.encoder = AudioEncoder(out, "aac", self.rate)
        self.samples = 0

    def until(self, seconds: Fraction | float) -> None:
        while self.samples < seconds * self.rate:
            frame = next(self.frames, None)
            if frame is None:
                return
            self.samples += frame.samples
            self.encoder.add(frame)

    def finish(self) -> float:
        self.until(float("inf"))
        self.encoder.finish()
        return self.samples / self.rate
