"""The line in the job table (moto's DynamoDB, the stack's own table and index): higher priorities first,
first in first out within a priority, a holder's place kept when it enters again, counts of the jobs
ahead, leaving the line once; and the estimates people see."""

from __future__ import annotations

from typing import Any

import pytest

from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.domain.line_estimates import Pace
from lipsync_core.jobs.domain.models import Priority
from lipsync_core.jobs.domain.poll_policy import PollPolicy
from lipsync_core.jobs.domain.records import LineEntry
from lipsync_core.jobs.domain.task_times import DONE_AT_FIRST_POLL, observed_seconds
from lipsync_core.volc import Mode


def entry(holder: str, priority: Priority = "normal", at: int = 0, mode: Mode = Mode.LITE) -> LineEntry:
    return LineEntry(
        holder=holder,
        job_id=holder,
        mode=mode,
        priority=priority,
        enqueued_at=f"2026-12-06T10:00:{at:02d}.000+00:00",
        token=f"token-{holder}",
    )


@pytest.fixture
def line(jobs_table: Any) -> Line:
    return Line(jobs_table)


def test_higher_priorities_go_first_and_each_priority_is_first_in_first_out(line: Line) -> None:
    arrivals = [
        entry("n1", at=1),
        entry("l1", "low", at=2),
        entry("n2", at=3),
        entry("h1", "high", at=4),
        entry("n3", at=5),
        entry("h2", "high", at=6),
        entry("b1", at=0, mode=Mode.BASIC),  # another mode: another line
    ]
    for arrival in arrivals:
        line.enter(arrival)
    assert line.heads(Mode.LITE, 10) == ["h1", "h2", "n1", "n2", "n3", "l1"]
    assert line.heads(Mode.LITE, 2) == ["h1", "h2"]
    assert line.heads(Mode.BASIC, 10) == ["b1"]
    assert [line.ahead_of(arrival) for arrival in arrivals] == [2, 5, 3, 0, 4, 1, 0]
    assert line.waiting(Mode.LITE, "normal") == (3, "2026-12-06T10:00:01.000+00:00")
    assert line.waiting(Mode.LITE, "low") == (1, "2026-12-06T10:00:02.000+00:00")
    assert line.waiting(Mode.BASIC, "high") == (0, None)


def test_a_holder_that_enters_again_keeps_its_place_and_takes_the_new_token(line: Line) -> None:
    line.enter(entry("first", at=1))
    line.enter(entry("second", at=2))
    again = line.enter(entry("first", "high", at=9).model_copy(update={"token": "retried"}))
    assert (again.token, again.priority, again.enqueued_at) == (
        "retried",
        "normal",
        entry("first", at=1).enqueued_at,
    )
    assert line.heads(Mode.LITE, 10) == ["first", "second"]


def test_leaving_the_line_happens_once_and_only_with_the_current_token(line: Line) -> None:
    line.enter(entry("a", at=1))
    line.enter(entry("b", at=2))
    assert not line.remove("a", token="an old token")  # entered again since: not this admission's
    assert line.remove("a", token="token-a")
    assert not line.remove("a")
    assert line.get("a") is None
    assert line.ahead_of(entry("b", at=2)) == 0  # the one behind moved up


def test_a_long_line_is_counted_whole(line: Line) -> None:
    for index in range(120):
        line.enter(entry(f"job-{index:03d}", at=index % 60))
    last = line.get("job-119")
    assert last is not None
    assert line.ahead_of(last) == 119
    assert line.waiting(Mode.LITE, "normal")[0] == 120


def test_when_a_job_may_start_and_when_the_line_drains() -> None:
    slots = Pace(submits_per_second=0, slots=2, free_slots=0, task_seconds=10.0)
    assert slots.seconds_until_admitted(0) == 10.0  # the next slot comes back within a task's time
    assert slots.seconds_until_admitted(3) == 20.0  # two slots: the fourth waits two turns
    assert slots.seconds_to_drain(4) == 30.0
    rate = Pace(submits_per_second=0.5, slots=10, free_slots=10, task_seconds=10.0)
    assert rate.seconds_until_admitted(4) == 8.0  # the rate, not the slots, holds it back
    assert Pace(0, 2, 0, None).seconds_until_admitted(5) is None  # nothing to go by yet
    assert Pace(0, 2, 2, None).seconds_until_admitted(1) == 0.0  # a free slot is free


def test_the_first_poll_aims_at_the_predicted_end_and_then_at_what_progress_leaves() -> None:
    policy = PollPolicy(first_seconds=15, growth=1.5, max_seconds=120, short_seconds=3)
    assert policy.first_wait(None) == 15
    assert policy.first_wait(600.0) == 600  # a ten-minute task: one wait, whatever the cap
    # Early by a little: the service says 95 % after 570 s, so 30 s are left.
    assert policy.next_wait(1, progress=95, elapsed_seconds=570, expected=600) == 30
    assert policy.next_wait(1, progress=None, elapsed_seconds=600, expected=600) == 3  # overdue: short
    # Without history: geometric, and half the remaining time once the service reports progress.
    assert policy.next_wait(2, progress=None, elapsed_seconds=None) == 34
    assert policy.next_wait(2, progress=50, elapsed_seconds=20) == 15


def test_an_ended_task_says_how_long_tasks_take() -> None:
    assert observed_seconds(done_at=100, unfinished_at=None, progress=None) == 100 * DONE_AT_FIRST_POLL
    assert observed_seconds(done_at=100, unfinished_at=80, progress=None) == 90
    assert observed_seconds(done_at=100, unfinished_at=80, progress=90) == pytest.approx(88.9, abs=0.1)
