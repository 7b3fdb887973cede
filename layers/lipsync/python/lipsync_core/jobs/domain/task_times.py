"""How long a mode's tasks take at the service, learned from the tasks that ended: a moving estimate of
the real seconds from a submission to the task being done, which the first poll aims at.

A poll only tells that a task was unfinished or done at some moment, so each ended task gives a
bracket: the last poll that found it unfinished (or its progress, which says how far it was) and the
poll that found it done. A task found done by its first poll only says it took at most that long:
the estimate then comes down slowly, so that first polls land just after the end rather than just
before it (one poll more, three state transitions) or long after it (a slot held for nothing).

Voice durations are not known yet (the inputs are not probed before submission), so the estimate is
per task; once they are, seconds of work per second of voice is the better unit.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHT = 0.25  # of each new observation in the moving estimate
# A task found done at its first poll took at most that long: the estimate moves towards a little
# less, so that an estimate that is too long shrinks, slowly.
DONE_AT_FIRST_POLL = 0.97


def observed_seconds(*, done_at: float, unfinished_at: float | None, progress: float | None) -> float:
    """The best guess of how long an ended task took, from the poll that found it done (``done_at``
    seconds after its submission) and the last one that did not (``unfinished_at``, with the
    ``progress`` it reported)."""
    if unfinished_at is None:
        return done_at * DONE_AT_FIRST_POLL
    if progress is not None and 0 < progress < 100:  # the service said how far it was then
        return min(done_at, max(unfinished_at, unfinished_at * 100 / progress))
    return (unfinished_at + done_at) / 2


@dataclass(frozen=True)
class TaskTimes:
    """The moving estimate for one mode: real seconds per task, from how many tasks."""

    seconds: float
    samples: int = 1

    def updated(self, seconds: float) -> TaskTimes:
        return TaskTimes(self.seconds + WEIGHT * (seconds - self.seconds), self.samples + 1)
