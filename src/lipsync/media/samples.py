"""Sample media made on the spot with PyAV: a face-like talking head and a voice-like track."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_talking_head(
    path: Path, *, seconds: float = 3.0, fps: int = 25, width: int = 320, height: int = 240
) -> Path:
    """An H.264 MP4 of a cartoon face whose mouth opens and closes and whose head sways."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = max(1, round(seconds * fps))
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for index in range(frames):
            t = index / fps
            image = np.empty((height, width, 3), dtype=np.uint8)
            image[..., 0] = (40 + 30 * np.sin(xx / 40 + t)).astype(np.uint8)  # a drifting backdrop
            image[..., 1] = (60 + 20 * np.cos(yy / 30 - t)).astype(np.uint8)
            image[..., 2] = 110
            cx, cy = width / 2 + width * 0.05 * math.sin(2 * math.pi * 0.5 * t), height / 2
            rx, ry = width * 0.22, height * 0.36
            face = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            image[face] = (224, 172, 140)
            for side in (-1, 1):
                eye = ((xx - cx - side * rx * 0.4) ** 2 + (yy - cy + ry * 0.25) ** 2) <= (rx * 0.1) ** 2
                image[eye] = (30, 30, 40)
            opening = 0.02 + 0.12 * abs(math.sin(2 * math.pi * 2.5 * t))
            mouth = ((xx - cx) / (rx * 0.35)) ** 2 + ((yy - cy - ry * 0.45) / (ry * opening + 1)) ** 2 <= 1
            image[mouth] = (120, 20, 30)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_voice(path: Path, *, seconds: float = 5.0, rate: int = 16000) -> Path:
    """A WAV file that sounds vaguely like speech: a gliding voiced tone in syllables."""
    t = np.arange(round(seconds * rate)) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * 3.2 * t), 0, None) ** 0.5
    signal = (0.25 * voiced * syllables * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        chunk = 1600
        for start in range(0, len(signal), chunk):
            piece = signal[start : start + chunk]
            frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
