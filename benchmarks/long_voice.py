"""Long voices through segments (issue 20): a 10-minute voice on a Lite template, and a 10-minute Basic
pair, cut at their pauses, each segment rendered by the emulator's renderer (the service's stand-in,
segments side by side as free slots allow), the results joined. Prints the segments, the tasks that
would be paid, each stage's wall time, the join's peak memory (in a process of its own) and the
measured offset between picture and voice at every seam.

Run alone: ``python -m benchmarks.long_voice [--minutes 10]``."""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync.emulator.rendering import Retime as Rendering
from lipsync.emulator.rendering import render
from lipsync.media.samples import make_talking_head
from lipsync_core.media.cutting import cut_video, cut_voice
from lipsync_core.media.joining import JoinReport, join
from lipsync_core.media.pauses import find_pauses
from lipsync_core.media.segments import Retime, Segment, plan_segments, template_starts

RATE = 16000
FPS = 25
SLOTS = 2  # segments rendered at once (this machine's cores)
LIMITS = {"lite": 240.0, "basic": 150.0}  # one task's voice, the integrators' figures


@dataclass
class Outcome:
    mode: str
    voice_seconds: float
    segments: list[Segment]
    cut_seconds: float
    render_wall: float
    longest_render: float
    join_seconds: float
    join_peak_mib: float
    report: JoinReport

    def line(self) -> str:
        lengths = ", ".join(f"{s.seconds:.1f}" for s in self.segments)
        at_pauses = sum(s.at_pause for s in self.segments[:-1])
        return (
            f"long voice, {self.mode}: {self.voice_seconds / 60:.0f} min in {len(self.segments)} segments "
            f"({lengths} s; {at_pauses} of {len(self.segments) - 1} cuts in pauses), "
            f"{len(self.segments)} tasks paid; cut {self.cut_seconds:.1f} s, "
            f"renders {self.render_wall:.1f} s "
            f"(longest segment {self.longest_render:.1f} s, {SLOTS} slots), join {self.join_seconds:.1f} s "
            f"at {self.join_peak_mib:.0f} MiB peak; {self.report.frames} frames for "
            f"{self.report.voice_seconds:.2f} s of voice, worst seam offset "
            f"{self.report.worst_offset_ms:.1f} ms, adjusted {self.report.adjusted or 'none'}"
        )


def make_speech(path: Path, seconds: float, *, seed: int = 7) -> Path:
    """Phrases of 3 to 9 s separated by pauses of 0.3 to 0.9 s, as read dialogue has them."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / RATE
    signal = 0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))
    signal *= 0.4 + 0.6 * np.clip(np.sin(2 * np.pi * 3.2 * t), 0, None)
    at = rng.uniform(3, 9)
    while at < seconds - 1:
        pause = rng.uniform(0.3, 0.9)
        signal[(t >= at) & (t < at + pause)] = 0.0
        at += pause + rng.uniform(3, 9)
    pcm = (signal * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=RATE)
        stream.layout = "mono"
        for start in range(0, len(pcm), RATE):
            frame = av.AudioFrame.from_ndarray(
                pcm[start : start + RATE].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _render(job: tuple[Path, Path, Path, Rendering, float]) -> float:
    video, voice, result, retime, start = job
    began = time.perf_counter()
    render(video, voice, result, retime=retime, start_seconds=start, mark=True)
    return time.perf_counter() - began


def _join(job: tuple[list[Path], list[int], Path, Path]) -> tuple[JoinReport, float, float]:
    """In a process of its own, so that its peak memory is the join's alone."""
    parts, frames, voice, destination = job
    began = time.perf_counter()
    report = join(parts, frames, voice, destination, fps=Fraction(FPS))
    elapsed = time.perf_counter() - began
    return report, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(mode: str, minutes: float, scratch: Path) -> Outcome:
    seconds = minutes * 60
    voice = make_speech(scratch / "voice.wav", seconds)
    template_seconds = 20.0 if mode == "lite" else seconds
    video = make_talking_head(scratch / "video.mp4", seconds=template_seconds, fps=FPS, width=320, height=240)
    began = time.perf_counter()
    segments = plan_segments(seconds, find_pauses(voice), fps=Fraction(FPS), max_seconds=LIMITS[mode])
    voices = cut_voice(voice, segments, scratch)
    if mode == "lite":
        starts = template_starts(
            segments,
            template_frames=round(template_seconds * FPS),
            template_fps=Fraction(FPS),
            start_seconds=0.0,
            retime=Retime.LOOP,
        )
        jobs = [
            (video, v, scratch / f"result-{s.index}.mp4", Rendering.LOOP, start)
            for s, v, start in zip(segments, voices, starts, strict=True)
        ]
    else:
        videos = cut_video(video, segments, scratch)
        jobs = [
            (clip, v, scratch / f"result-{s.index}.mp4", Rendering.HOLD, 0.0)
            for s, v, clip in zip(segments, voices, videos, strict=True)
        ]
    cut = time.perf_counter() - began
    began = time.perf_counter()
    with ProcessPoolExecutor(SLOTS) as pool:
        renders = list(pool.map(_render, jobs))
    render_wall = time.perf_counter() - began
    with ProcessPoolExecutor(1) as pool:
        join_job = ([job[2] for job in jobs], [s.frames for s in segments], voice, scratch / "joined.mp4")
        report, join_seconds, peak = pool.submit(_join, join_job).result()
    return Outcome(mode, seconds, segments, cut, render_wall, max(renders), join_seconds, peak, report)


def main(minutes: float = 10.0) -> list[Outcome]:
    outcomes = []
    for mode in ("lite", "basic"):
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run(mode, minutes, Path(tmp))
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    main(parser.parse_args().minutes)
