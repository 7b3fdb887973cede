"""What polling costs and how late it notices: the deployed ``PollPolicy`` beside a fixed 5 s loop,
for tasks of 1 to 180 minutes. Each poll is three state transitions (WaitBeforePoll, Poll,
TaskStatus), which Standard workflows bill, and an execution's history is capped at 25,000 events.
The service is modelled as the emulator behaves: progress grows linearly while the task generates."""

from __future__ import annotations

import math

from benchmarks.report import Row
from lipsync_core.jobs.domain.poll_policy import PollPolicy

MINUTES = (1, 5, 10, 30, 60, 180)
TRANSITIONS_PER_POLL = 3
FIXED_SECONDS = 5


def adaptive(duration: float, policy: PollPolicy) -> tuple[int, float]:
    """(polls, seconds from the task's end to the poll that sees it)."""
    elapsed, polls, wait = 0.0, 0, float(policy.first_seconds)  # submit sets the first wait
    while True:
        elapsed += wait
        polls += 1
        if elapsed >= duration:
            return polls, elapsed - duration
        progress = round(min(99.0, elapsed / duration * 100), 1)
        wait = policy.next_wait(polls, progress=progress, elapsed_seconds=elapsed)


def main() -> list[Row]:
    policy = PollPolicy()
    print(
        f"polling: PollPolicy() (first {policy.first_seconds} s, x{policy.growth}, "
        f"cap {policy.max_seconds} s) vs a fixed {FIXED_SECONDS} s loop; "
        f"{TRANSITIONS_PER_POLL} transitions per poll"
    )
    heading = ("task", "polls", "transitions", "latency", "5 s loop", "transitions")
    print("  {:>8}  {:>6} {:>11} {:>8}   {:>8} {:>11}".format(*heading))
    rows = []
    for minutes in MINUTES:
        duration = minutes * 60.0
        polls, late = adaptive(duration, policy)
        fixed = math.ceil(duration / FIXED_SECONDS)
        print(
            f"  {minutes:>5} min  {polls:>6} {polls * TRANSITIONS_PER_POLL:>11} {late:>7.1f}s   "
            f"{fixed:>8} {fixed * TRANSITIONS_PER_POLL:>11}"
        )
        rows.append(
            Row(
                f"poll transitions, {minutes} min task (latency {late:.0f} s)",
                polls * TRANSITIONS_PER_POLL,
                fixed * TRANSITIONS_PER_POLL,
                "",
            )
        )
    return rows
