"""The pauses in a voice, found by FFmpeg's ``silencedetect`` filter through PyAV (no numpy on Lambda).

The level is relative to nothing: ``noise_db`` is in dBFS, as FFmpeg measures it. The default sits well
under speech and above the hiss of a phone recording; a breath between words is usually shorter than
``min_pause``, the end of a phrase longer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from .segments import Pause

NOISE_DB = -35.0
MIN_PAUSE_SECONDS = 0.25
CHUNK_SAMPLES = 320  # 20 ms at 16 kHz: a chunk never holds two of the filter's reports


def find_pauses(
    path: Path, *, noise_db: float = NOISE_DB, min_pause: float = MIN_PAUSE_SECONDS
) -> list[Pause]:
    """Every stretch of at least ``min_pause`` seconds under ``noise_db``, in order. A pause that runs to
    the end of the voice ends at its last sample."""
    pauses: list[Pause] = []
    started: float | None = None
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        graph = av.filter.Graph()
        source = graph.add_abuffer(format="s16", sample_rate=rate, layout="mono")
        detect = graph.add("silencedetect", f"noise={noise_db}dB:d={min_pause}")
        sink = graph.add("abuffersink")
        source.link_to(detect)
        detect.link_to(sink)
        graph.configure()
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        fifo = av.AudioFifo()
        samples = 0

        def drain(partial: bool) -> None:
            nonlocal started, samples
            while fifo.samples >= CHUNK_SAMPLES or (partial and fifo.samples):
                chunk = fifo.read(min(CHUNK_SAMPLES, fifo.samples), partial=partial)
                assert chunk is not None  # the loop's condition guarantees samples
                chunk.pts, chunk.time_base = samples, Fraction(1, rate)
                samples += chunk.samples
                graph.push(chunk)
                for filtered in _pull(graph):
                    started = _record(filtered.metadata, started, pauses)

        for frame in container.decode(stream):
            frame.pts = None
            for resampled in resampler.resample(frame):
                fifo.write(resampled)
            drain(partial=False)
        for resampled in resampler.resample(None):
            fifo.write(resampled)
        drain(partial=True)
        graph.push(None)
        for filtered in _pull(graph):
            started = _record(filtered.metadata, started, pauses)
    if started is not None:
        pauses.append(Pause(started, samples / rate))
    return pauses


def _pull(graph: av.filter.Graph) -> list[av.AudioFrame]:
    frames: list[av.AudioFrame] = []
    while True:
        try:
            frame = graph.pull()
            assert isinstance(frame, av.AudioFrame)
            frames.append(frame)
        except (BlockingIOError, EOFError, av.error.EOFError):
            return frames


def _record(metadata: dict[str, str], started: float | None, pauses: list[Pause]) -> float | None:
    if "lavfi.silence_end" in metadata and started is not None:
        pauses.append(Pause(started, float(metadata["lavfi.silence_end"])))
        started = None
    if "lavfi.silence_start" in metadata:
        started = max(0.0, float(metadata["lavfi.silence_start"]))
    return started
