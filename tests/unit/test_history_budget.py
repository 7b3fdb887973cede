"""An execution's history has a quota (25,000 events, then States.Runtime, which no Catch handles), and a
task that runs long past its prediction is polled at the policy's shortest wait: without a floor, a
task stuck 2.3 hours past its prediction would fail its paid job. ``history_floor`` spreads what is left
of a task's share over the time to its deadline, so the deadline ends a job, never the quota."""

from __future__ import annotations

import pytest

from lipsync_core.jobs.domain.poll_policy import (
    EVENTS_PER_ROUND,
    EVENTS_PER_TASK,
    HISTORY_EVENTS,
    history_floor,
)


def rounds_until_deadline(deadline: int, tasks: int, shortest: int = 1) -> int:
    """The poll rounds of a task that never finishes, polled as often as anything lets it."""
    elapsed, rounds = 0.0, 0
    while elapsed < deadline:
        rounds += 1
        elapsed += max(shortest, round(history_floor(rounds, deadline - elapsed, tasks=tasks)))
    return rounds


@pytest.mark.parametrize("tasks", [1, 3, 24])  # one task; a 10-minute Basic voice's 5 segments; an hour's 24
@pytest.mark.parametrize("deadline", [600, 6 * 3600, 39_600])  # the longest deadline the stack accepts
def test_polling_until_the_deadline_stays_under_the_history_quota(deadline: int, tasks: int) -> None:
    events = tasks * (EVENTS_PER_TASK + EVENTS_PER_ROUND * rounds_until_deadline(deadline, tasks))
    assert events <= HISTORY_EVENTS


def test_a_job_polls_freely_until_half_its_share_is_spent() -> None:
    share = (HISTORY_EVENTS - EVENTS_PER_TASK) / EVENTS_PER_ROUND
    assert history_floor(1, 21_600) == 0.0
    assert history_floor(int(share / 2) - 1, 21_600) == 0.0
    assert history_floor(int(share / 2) + 1, 21_600) > 0.0
    # a segment of an hour's voice shares the history with 23 others: its free share is smaller
    assert history_floor(50, 21_600, tasks=24) > 0.0
