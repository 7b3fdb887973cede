"""A voice decoded and resampled, then handed out through a FIFO as the reader wants it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import av


def feed(container: Any, stream: Any, *, layout: str, take: Callable[[av.AudioFifo, bool], None]) -> None:
    """Decode ``stream`` to signed 16-bit ``layout`` at its own rate into a FIFO; ``take(fifo, final)``
    is called after each decoded frame (``final=False``) and once at the end (``final=True``)."""
    resampler = av.AudioResampler(format="s16", layout=layout, rate=stream.codec_context.sample_rate)
    fifo = av.AudioFifo()
    for frame in container.decode(stream):
        frame.pts = None  # the resampler numbers its output; sources' timestamps may have gaps
        for resampled in resampler.resample(frame):
            fifo.write(resampled)
        take(fifo, False)
    for resampled in resampler.resample(None):
        fifo.write(resampled)
    take(fifo, True)
