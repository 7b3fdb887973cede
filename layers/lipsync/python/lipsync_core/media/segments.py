"""Where a long voice is cut, and where each segment's template starts.

A voice longer than one task's limit becomes segments, each its own task. Three rules make the joined
result seamless:

* **cuts fall on frame boundaries** of the output (``fps``): a segment of ``n`` frames' worth of voice
  renders exactly ``n`` frames, so the joined video has one frame per ``1/fps`` of voice and audio and
  video agree at every seam by construction;
* **cuts fall in pauses** where a pause exists in the window a cut may take (never mid-word when it
  can be helped); only a voice with no pause in a whole window is cut where the window ends, and the
  plan says so (``at_pause``);
* **the template continues** (Lite): each segment starts the template at the frame that would have
  followed the previous segment's last frame (``templ_start_seconds``), so the face does not jump.

Pure arithmetic, no media library: the pauses come from ``pauses.find_pauses``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


@dataclass(frozen=True)
class Pause:
    start: float
    end: float

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Segment:
    index: int
    first_frame: int  # inclusive, in output frames from the voice's start
    end_frame: int  # exclusive
    fps: Fraction
    at_pause: bool  # whether the cut that ends this segment lies in a pause (the last one: True)

    @property
    def frames(self) -> int:
        return self.end_frame - self.first_frame

    @property
    def start(self) -> float:
        return float(self.first_frame / self.fps)

    @property
    def end(self) -> float:
        return float(self.end_frame / self.fps)

    @property
    def seconds(self) -> float:
        return float(self.frames / self.fps)

    def sample_range(self, rate: int) -> tuple[int, int]:
        """The voice samples this segment holds: ``[first, end)``, rounded once so that segments tile."""
        return _sample(self.first_frame, self.fps, rate), _sample(self.end_frame, self.fps, rate)


class SegmentingError(ValueError):
    """A voice that cannot be cut into segments within the limits (too short to split, limit too small)."""


def plan_segments(
    duration: float,
    pauses: list[Pause],
    *,
    fps: Fraction,
    max_seconds: float,
    min_seconds: float = 1.0,
) -> list[Segment]:
    """Cut ``duration`` seconds of voice into segments of at most ``max_seconds`` and at least
    ``min_seconds`` (the service's bounds for one task), each boundary a whole frame.

    Greedy from the start: a segment is as long as it can be (fewest paid tasks), ending at the middle of
    the latest pause in its window; the window stops early enough that what remains can still make
    segments of at least ``min_seconds``."""
    total = math.floor(duration * fps + Fraction(1, 1000))  # whole frames of voice; the tail is < 1 frame
    longest = math.floor(max_seconds * fps)
    shortest = math.ceil(min_seconds * fps)
    if total < shortest:
        raise SegmentingError(f"the voice lasts {duration:.2f} s, under the {min_seconds:g} s a task needs")
    if longest < 2 * shortest:
        raise SegmentingError(
            f"a limit of {max_seconds:g} s leaves no room to cut between {min_seconds:g} s pieces"
        )
    segments: list[Segment] = []
    first = 0
    while total - first > longest:
        earliest = first + shortest
        latest = min(first + longest, total - shortest)
        cut, at_pause = _cut(first, earliest, latest, pauses, fps)
        segments.append(Segment(len(segments), first, cut, fps, at_pause))
        first = cut
    segments.append(Segment(len(segments), first, total, fps, True))
    return segments


def _cut(first: int, earliest: int, latest: int, pauses: list[Pause], fps: Fraction) -> tuple[int, bool]:
    in_window = [p for p in pauses if earliest <= _frame(p.middle, fps) <= latest]
    if in_window:
        # The latest pause, unless a much longer one (a sentence's end, not a breath) is close to it.
        latest_pause = max(in_window, key=lambda p: p.middle)
        near = [p for p in in_window if latest_pause.middle - p.middle <= NEAR_SECONDS]
        chosen = max(near, key=lambda p: (p.length, p.middle))
        return _frame(chosen.middle, fps), True
    return latest, False


NEAR_SECONDS = 10.0  # how far back from the latest pause a longer pause is preferred


def _frame(seconds: float, fps: Fraction) -> int:
    return round(Fraction(seconds) * fps)


def _sample(frame: int, fps: Fraction, rate: int) -> int:
    return round(frame * rate / fps)


class Retime(StrEnum):
    """How the service fills a voice longer than the template (as the emulator's ``Retime``)."""

    LOOP = "loop"  # Lite with align_audio
    PING_PONG = "ping_pong"  # Lite with align_audio and align_audio_reverse
    HOLD = "hold"  # Lite without align_audio: the last frame is held


def template_starts(
    segments: list[Segment],
    *,
    template_frames: int,
    template_fps: Fraction,
    start_seconds: float,
    retime: Retime,
) -> list[float]:
    """Lite: ``templ_start_seconds`` for each segment, so that each starts on the template frame that
    follows the previous segment's last one. The template is read from its start frame to its end; in
    ping-pong the direction is forward again at each seam (as at each end of the template)."""
    starts: list[float] = []
    frame = min(_frame(start_seconds, template_fps), template_frames - 1)
    for segment in segments:
        starts.append(float(frame / template_fps))
        shown = round(segment.frames * template_fps / segment.fps)  # template frames this segment plays
        frame = _next_frame(frame, shown, template_frames, retime)
    return starts


def _next_frame(start: int, shown: int, template_frames: int, retime: Retime) -> int:
    available = template_frames - start
    if retime is Retime.LOOP:
        return start + shown % available
    if retime is Retime.PING_PONG and available > 1:
        period = 2 * available - 2
        step = shown % period
        return start + (step if step < available else period - step)
    return min(start + shown, template_frames - 1)
