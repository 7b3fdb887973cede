"""How long to wait before the next poll.

Standard workflows bill per state transition and cap an execution's history at 25,000 events, so
polling every few seconds for an hour is both costly and dangerous; polling rarely adds latency.
The wait starts short, grows geometrically to a cap, and, once the service reports progress,
aims at about half the estimated remaining time (never below the first wait, never above the cap).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    first_seconds: int = 15
    growth: float = 1.5
    max_seconds: int = 120

    def __post_init__(self) -> None:
        if self.first_seconds < 0 or self.max_seconds < self.first_seconds or self.growth < 1:
            raise ValueError("poll policy needs 0 <= first <= max and growth >= 1")

    def next_wait(
        self, polls: int, *, progress: float | None = None, elapsed_seconds: float | None = None
    ) -> int:
        """Seconds to wait after ``polls`` polls of the current task."""
        geometric = min(self.max_seconds, self.first_seconds * self.growth**polls)
        if progress is not None and elapsed_seconds is not None and 0 < progress < 100:
            remaining = elapsed_seconds * (100 - progress) / progress
            return round(min(geometric, max(self.first_seconds, remaining / 2)))
        return round(geometric)


def jittered(seconds: float, spread: float = 0.25, rng: Callable[[], float] = random.random) -> float:
    """``seconds`` moved by up to ``spread`` either way, so that waiters do not wake together."""
    return max(0.0, seconds * (1 - spread + 2 * spread * rng()))
