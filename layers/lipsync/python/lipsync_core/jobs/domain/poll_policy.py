"""How long to wait before the next poll.

Standard workflows bill per state transition and cap an execution's history at 25,000 events, so
polling every few seconds for an hour is both costly and dangerous; polling rarely adds latency, and
keeps a finished task's slot from the next job in the line.

When recent tasks of the mode say how long a task takes (``expected``, ``domain.task_times``), the
first poll aims at the predicted end and later ones at what the service's progress says is left
(never closer than ``short_seconds``): a typical job polls once or twice, whatever its length. Without
that history the wait starts short, grows geometrically to a cap and, once the service reports
progress, aims at about half the estimated remaining time.
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
    short_seconds: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.first_seconds <= self.max_seconds or self.growth < 1:
            raise ValueError("poll policy needs 0 <= first <= max and growth >= 1")
        if not 1 <= self.short_seconds <= self.max_seconds:
            raise ValueError("poll policy needs 1 <= short <= max")

    def first_wait(self, expected: float | None = None) -> int:
        """Seconds from the submission to the first poll: the predicted end of the task (``expected``
        seconds after it was submitted, uncapped: the prediction is what bounds it), else the first wait."""
        return self.first_seconds if expected is None else max(1, round(expected))

    def next_wait(
        self,
        polls: int,
        *,
        progress: float | None = None,
        elapsed_seconds: float | None = None,
        expected: float | None = None,
    ) -> int:
        """Seconds to wait after ``polls`` polls of the current task, ``elapsed_seconds`` after it was
        submitted, when tasks of its mode take about ``expected`` seconds (None: no history)."""
        remaining = None
        if progress is not None and elapsed_seconds is not None and 0 < progress < 100:
            remaining = elapsed_seconds * (100 - progress) / progress
        if expected is not None:  # aim at the end: the prediction says when that is
            if remaining is None and elapsed_seconds is not None:
                remaining = expected - elapsed_seconds
            return round(min(self.max_seconds, max(self.short_seconds, remaining or 0)))
        geometric = min(self.max_seconds, self.first_seconds * self.growth**polls)
        if remaining is not None:
            return round(min(geometric, max(self.first_seconds, remaining / 2)))
        return round(geometric)


# Step Functions' quota on a Standard execution's history; reaching it fails the execution with
# States.Runtime, which no Catch handles: a paid task would be lost. Polling is what grows a history.
HISTORY_EVENTS = 25_000
EVENTS_PER_ROUND = 12  # Wait (2), Poll's LambdaInvoke (5), TaskStatus (2), and a retried invocation (3)
EVENTS_PER_TASK = 60  # what is not polling: Prepare, the line, Submits, CopyResult, a Map iteration, failure


def history_floor(rounds: int, seconds_left: float, *, tasks: int = 1) -> float:
    """The shortest wait before the next poll that keeps an execution's history under its quota,
    however long the task runs until the deadline: ``tasks`` tasks (a job's segments) share the
    execution, ``rounds`` poll rounds of this one were made (all its submissions), ``seconds_left`` is
    the time to its deadline. Polling is free for the first half of a task's share of the history; then
    the rest of the share is spread over the time left, so the deadline, not the quota, ends the job."""
    share = (HISTORY_EVENTS - EVENTS_PER_TASK * tasks) / EVENTS_PER_ROUND / tasks
    if rounds < share / 2:
        return 0.0
    return seconds_left / max(1.0, share - rounds)


def jittered(seconds: float, spread: float = 0.25, rng: Callable[[], float] = random.random) -> float:
    """``seconds`` moved by up to ``spread`` either way, so that waiters do not wake together."""
    return max(0.0, seconds * (1 - spread + 2 * spread * rng()))
