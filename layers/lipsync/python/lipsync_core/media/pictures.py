"""One H.264 picture track at a constant frame rate, the frames numbered as they come (the cutting and
joining of segments write frames decoded from elsewhere, whose own timestamps do not apply)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av

from .normalise import VIDEO_CRF, VIDEO_PRESET


class PictureTrack:
    def __init__(self, out: Any, fps: Fraction, like: Any) -> None:
        """``like``: a frame of the size to write (made even, as 4:2:0 needs)."""
        self.out = out
        self.fps = fps
        self.stream = out.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = like.width - like.width % 2, like.height - like.height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": VIDEO_PRESET, "crf": VIDEO_CRF}
        self.count = 0

    def add(self, frame: Any) -> None:
        picture = frame.reformat(width=self.stream.width, height=self.stream.height, format="yuv420p")
        picture.pts, picture.time_base = self.count, Fraction(1) / self.fps
        picture.pict_type = av.video.frame.PictureType.NONE  # the encoder chooses, not the source
        self.out.mux(self.stream.encode(picture))
        self.count += 1

    def finish(self) -> None:
        self.out.mux(self.stream.encode(None))
