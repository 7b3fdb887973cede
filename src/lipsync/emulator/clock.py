"""The emulator's clock: real time scaled by ``speed``, and advanced on request by tests."""

from __future__ import annotations

import threading
import time


class EmulatorClock:
    """Seconds of emulated time. ``speed=10`` makes a ten-minute task take a minute."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Emulated epoch seconds."""
        with self._lock:
            return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def real(self, emulated: float) -> float:
        """The wall-clock epoch seconds at which the clock read ``emulated`` (if it was not advanced
        since)."""
        with self._lock:
            return self._origin_wall + (emulated - self._origin_wall - self._offset) / self.speed
