"""Test media whose frames say which source frame they are, so re-timing can be checked on content."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

LEVEL_STEP = 20  # luma step between consecutive source frames: survives H.264 easily
LEVEL_BASE = 20


def make_indexed_video(
    path: Path, *, frames: int, fps: int = 10, width: int = 64, height: int = 48, period: int | None = None
) -> Path:
    """Frame ``i`` is uniformly grey at luma ``LEVEL_BASE + (i % period) * LEVEL_STEP`` (``period``:
    ``frames`` unless given, for a video longer than the levels a frame can show)."""
    period = period or frames
    assert LEVEL_BASE + (period - 1) * LEVEL_STEP <= 235
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "10", "g": "1"}
        for index in range(frames):
            yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
            yuv[:height] = LEVEL_BASE + (index % period) * LEVEL_STEP
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def source_indices(path: Path, *, skip_top_rows: int) -> list[int]:
    """For each frame of ``path``, the index of the source frame it shows (below the mark)."""
    indices = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            luma = frame.to_ndarray(format="yuv420p")[skip_top_rows : frame.height]
            indices.append(round((float(luma.mean()) - LEVEL_BASE) / LEVEL_STEP))
    return indices


def streams_and_durations(path: Path) -> dict[str, float]:
    """Decodes every packet of every stream; returns each stream type's decoded duration."""
    durations: dict[str, float] = {}
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video))
        fps = float(video.average_rate or 0)
        durations["video"] = frames / fps
        durations["fps"] = fps
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(stream))
        # What a player plays: the stream's duration after the MP4 edit list trims AAC's priming and
        # padding. The decoder hands out whole 1024-sample frames, so decoded audio may run longer.
        assert stream.duration is not None
        assert stream.time_base is not None
        durations["audio"] = float(stream.duration * stream.time_base)
        durations["audio_decoded"] = samples / stream.rate
        durations["aac_frame"] = 1024 / stream.rate
        durations["audio_codec_is_aac"] = float(audio.codec_context.name == "aac")
        durations["video_codec_is_h264"] = float(video.codec_context.name == "h264")
    return durations


def make_audio_only_mp4(path: Path, *, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = np.zeros((1, int(16000 * seconds)), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode(None))
    return path


def audio_samples(path: Path, rate: int = 16000) -> np.ndarray:
    """The first audio stream, decoded, as mono float samples at ``rate``."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frame.pts = None
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks)


def envelope_correlation(a: np.ndarray, b: np.ndarray, *, rate: int = 16000, window: float = 0.02) -> float:
    """Correlation of the two signals' loudness envelopes (robust to AAC's small delays and noise)."""
    size = int(rate * window)
    count = min(len(a), len(b)) // size
    env_a = np.abs(a[: count * size]).reshape(count, size).mean(axis=1)
    env_b = np.abs(b[: count * size]).reshape(count, size).mean(axis=1)
    return float(np.corrcoef(env_a, env_b)[0, 1])


@dataclass(frozen=True)
class Media:
    """Sample and broken media served over HTTP on 127.0.0.1 (the ``media`` fixture)."""

    base: str
    root: Path

    def url(self, name: str) -> str:
        from lipsync.media.serving import url_for

        return url_for(self.base, name)


def broken_render(*args: object, **kwargs: object) -> dict[str, object]:
    """Stands in for the emulator's render (in its worker process) to make a render fail."""
    raise RuntimeError("encoder exploded")


def make_mp3(path: Path, *, seconds: float, rate: int = 44100) -> Path:
    """A stereo tone in MP3 (encoder delay and padding included, as every MP3 has)."""
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate)
        stream.layout = "stereo"
        t = np.arange(round(seconds * rate)) / rate
        tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        both = np.stack([tone, tone])
        for start in range(0, both.shape[1], 1152):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(both[:, start : start + 1152]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_phrases(path: Path, *, seconds: float, pauses: list[tuple[float, float]], rate: int = 16000) -> Path:
    """A WAV voice that speaks (a voiced tone in syllables) everywhere except in ``pauses``."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / rate
    syllables = 0.4 + 0.6 * np.clip(np.sin(2 * np.pi * 3.2 * t), 0, None)  # loud and soft, never silent
    signal = 0.3 * sum(np.sin(k * phase) / k for k in range(1, 6)) * syllables
    for start, end in pauses:
        signal[(t >= start) & (t < end)] = 0.0
    pcm = (signal * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
