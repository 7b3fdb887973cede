"""How fast a mode's line moves, and so when a waiting job may start and when a line may drain: at
the submit rate, or at the rate unfinished-task slots come back (slots over the time a task takes),
whichever is slower. Estimates, for people: admission itself never depends on them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    submits_per_second: float  # the rate the stack admits submissions at (0: unlimited)
    slots: int  # unfinished tasks at once (0: unlimited)
    free_slots: int  # slots not held now
    task_seconds: float | None  # how long a task takes (None: not known yet)

    def seconds_until_admitted(self, ahead: int) -> float | None:
        """Seconds until a job with ``ahead`` jobs before it is admitted (None: nothing to go by)."""
        estimates = []
        if self.submits_per_second > 0:
            estimates.append(ahead / self.submits_per_second)
        if self.slots > 0:
            beyond_free = max(0, ahead + 1 - self.free_slots)
            if beyond_free and self.task_seconds is None:
                return None
            # Every slot comes back once a task's time; the jobs beyond the free slots take turns.
            estimates.append(-(-beyond_free // self.slots) * (self.task_seconds or 0.0))
        return max(estimates, default=0.0)

    def seconds_to_drain(self, waiting: int) -> float | None:
        """Seconds until the last of ``waiting`` jobs has been admitted and has run."""
        if waiting == 0:
            return 0.0
        admitted = self.seconds_until_admitted(waiting - 1)
        if admitted is None:
            return None
        return admitted + (self.task_seconds or 0.0)
