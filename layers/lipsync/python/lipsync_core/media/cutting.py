"""A long input cut into its segments' inputs: the voice into WAV pieces that tile it sample for sample,
and (Basic) the video into MP4 pieces cut at the same instants. Streamed: one segment's worth in memory
at most. Each piece is written beside its name and renamed once complete."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .pictures import PictureTrack
from .segments import Segment


def cut_voice(source: Path, segments: list[Segment], folder: Path) -> list[Path]:
    """``folder/voice-<i>.wav`` per segment; the last one takes the voice's tail (under one frame) too,
    so the pieces hold every sample of the voice."""
    paths = [folder / f"voice-{segment.index:03d}.wav" for segment in segments]
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        layout = "mono" if stream.codec_context.channels == 1 else "stereo"
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        fifo = av.AudioFifo()
        pending = list(zip(segments, paths, strict=True))

        def flush(final: bool) -> None:
            while pending:
                segment, path = pending[0]
                first, end = segment.sample_range(rate)
                last = len(pending) == 1
                if last and not final:
                    return
                needed = fifo.samples if last else end - first
                if fifo.samples < needed:
                    return
                _write_wav(path, fifo.read(needed, partial=last) if needed else None, rate, layout)
                pending.pop(0)

        for frame in container.decode(stream):
            frame.pts = None
            for resampled in resampler.resample(frame):
                fifo.write(resampled)
            flush(final=False)
        for resampled in resampler.resample(None):
            fifo.write(resampled)
        flush(final=True)
    if pending:
        raise ValueError(f"the voice ends before segment {pending[0][0].index} starts")
    return paths


def _write_wav(path: Path, frame: av.AudioFrame | None, rate: int, layout: str) -> None:
    partial = path.with_name(path.name + ".part")
    with av.open(str(partial), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = layout
        if frame is not None:
            frame.pts, frame.time_base = 0, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    partial.replace(path)


def cut_video(source: Path, segments: list[Segment], folder: Path) -> list[Path]:
    """Basic: ``folder/video-<i>.mp4`` per segment, the source's frames ``[first_frame, end_frame)``
    (the source at the segments' frame rate, as normalisation leaves it). A segment that starts after
    the video ends gets its last frame, as the service holds the last frame of a short video."""
    paths = [folder / f"video-{segment.index:03d}.mp4" for segment in segments]
    writers: list[_VideoWriter | None] = [None] * len(segments)
    last_frame: Any = None
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            last_frame = frame
            owner = _owner(segments, index)
            if owner is None:
                break
            writer = writers[owner]
            if writer is None:
                for earlier in range(owner):  # finish every segment before this one
                    if writers[earlier] is not None:
                        writers[earlier].close()  # type: ignore[union-attr]
                writer = writers[owner] = _VideoWriter(paths[owner], segments[owner].fps, frame)
            writer.add(frame)
    if last_frame is None:
        raise ValueError("the video has no frame")
    for index, writer in enumerate(writers):
        if writer is None:
            writer = _VideoWriter(paths[index], segments[index].fps, last_frame)
            writer.add(last_frame)
        writer.close()
    return paths


def _owner(segments: list[Segment], frame: int) -> int | None:
    for segment in segments:
        if segment.first_frame <= frame < segment.end_frame or (
            segment is segments[-1] and frame >= segment.first_frame
        ):
            return segment.index
    return None


class _VideoWriter:
    def __init__(self, path: Path, fps: Fraction, like: Any) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.out = av.open(str(self.partial), "w", format="mp4", options={"movflags": "+faststart"})
        self.track = PictureTrack(self.out, fps, like)
        self.closed = False

    def add(self, frame: Any) -> None:
        self.track.add(frame)

    def close(self) -> None:
        if self.closed:
            return
        self.track.finish()
        self.out.close()
        self.partial.replace(self.path)
        self.closed = True
