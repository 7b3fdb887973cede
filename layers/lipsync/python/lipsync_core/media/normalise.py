"""Conversions into the recommended ranges (``rules``): a video to MP4 with H.264 (and AAC when it has
sound) at the planned size and frame rate, a voice to 16-bit WAV at the planned rate. FFmpeg's own
filters do the work (``fps`` drops or repeats frames at the right instants, ``scale`` resizes), through
PyAV; the file is written beside its destination and renamed once complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from .rules import AudioPlan, VideoPlan

VIDEO_PRESET = "veryfast"
VIDEO_CRF = "20"  # visually lossless for faces; the service re-encodes anyway


def normalise_video(source: Path, destination: Path, plan: VideoPlan) -> None:
    partial = destination.with_name(destination.name + ".part")
    movie = {"movflags": "+faststart"}  # the index first: players (and the service) start at once
    with av.open(str(source)) as container, av.open(str(partial), "w", format="mp4", options=movie) as out:
        video_in = container.streams.video[0]
        audio_in = container.streams.audio[0] if container.streams.audio else None
        video_out = out.add_stream("libx264", rate=plan.fps)
        video_out.width, video_out.height, video_out.pix_fmt = plan.width, plan.height, "yuv420p"
        video_out.options = {"preset": VIDEO_PRESET, "crf": VIDEO_CRF}
        graph = _video_graph(video_in, plan)
        audio = AudioEncoder(out, "aac", audio_in.codec_context.sample_rate) if audio_in else None
        streams = [video_in] + ([audio_in] if audio_in else [])
        for frame in container.decode(*streams):
            if isinstance(frame, av.VideoFrame):
                graph.push(frame)
                _drain_video(graph, out, video_out)
            elif audio is not None:
                audio.add(frame)
        graph.push(None)
        _drain_video(graph, out, video_out)
        out.mux(video_out.encode(None))
        if audio is not None:
            audio.finish()
    partial.replace(destination)


def normalise_audio(source: Path, destination: Path, plan: AudioPlan) -> None:
    partial = destination.with_name(destination.name + ".part")
    with av.open(str(source)) as container, av.open(str(partial), "w", format="wav") as out:
        encoder = AudioEncoder(out, "pcm_s16le", plan.sample_rate)
        for frame in container.decode(container.streams.audio[0]):
            encoder.add(frame)
        encoder.finish()
    partial.replace(destination)


def _video_graph(stream: Any, plan: VideoPlan) -> Any:
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    fps = graph.add("fps", f"fps={plan.fps.numerator}/{plan.fps.denominator}")
    scale = graph.add("scale", f"{plan.width}:{plan.height}")
    pixels = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    source.link_to(fps)
    fps.link_to(scale)
    scale.link_to(pixels)
    pixels.link_to(sink)
    graph.configure()
    return graph


def _drain_video(graph: Any, out: Any, stream: Any) -> None:
    while True:
        try:
            frame = graph.pull()
        except (BlockingIOError, EOFError, av.error.EOFError):
            return
        frame.pict_type = av.video.frame.PictureType.NONE  # let the encoder choose
        out.mux(stream.encode(frame))


class AudioEncoder:
    """Resample to the stream's rate and layout, then encode in the frame size the codec wants."""

    def __init__(self, out: Any, codec: str, rate: int) -> None:
        self.out = out
        self.stream = out.add_stream(codec, rate=rate)
        self.resampler: Any = None
        self.fifo = av.AudioFifo()
        self.sample_format = "fltp" if codec == "aac" else "s16"

    def add(self, frame: Any) -> None:
        if self.resampler is None:
            self.stream.layout = "mono" if frame.layout.nb_channels == 1 else "stereo"
            self.resampler = av.AudioResampler(
                format=self.sample_format, layout=self.stream.layout, rate=self.stream.rate
            )
        frame.pts = None
        for resampled in self.resampler.resample(frame):
            self.fifo.write(resampled)
        self._encode(partial=False)

    def finish(self) -> None:
        if self.resampler is not None:
            for resampled in self.resampler.resample(None):
                self.fifo.write(resampled)
        self._encode(partial=True)
        self.out.mux(self.stream.encode(None))

    def _encode(self, *, partial: bool) -> None:
        size = self.stream.codec_context.frame_size or 1024
        while self.fifo.samples >= size or (partial and self.fifo.samples):
            self.out.mux(self.stream.encode(self.fifo.read(min(size, self.fifo.samples), partial=partial)))
