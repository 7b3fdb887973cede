"""The line as people see it (``GET /queue``, ``GET /jobs/{id}``, the dashboard's metrics): per mode and
priority, how many wait and since when, how many run, and estimates of when a waiting job starts and
when the line drains (``domain.line_estimates``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lipsync_core.jobs.domain.flow_limits import SUBMIT
from lipsync_core.jobs.domain.line_estimates import Pace
from lipsync_core.jobs.domain.models import PRIORITIES, Priority
from lipsync_core.jobs.domain.records import LineEntry
from lipsync_core.volc.models import Mode

from .flow_control import RATE_MARGIN, FlowControl
from .line import Line


@dataclass(frozen=True)
class PriorityView:
    priority: Priority
    waiting: int
    oldest_wait_seconds: float | None


@dataclass(frozen=True)
class ModeView:
    mode: str
    slots: int  # unfinished tasks allowed at once (0: unlimited)
    running: int  # slots held
    waiting: int
    oldest_wait_seconds: float | None
    estimated_drain_seconds: float | None
    task_seconds: float | None  # how long a task takes, as recent tasks tell
    priorities: list[PriorityView]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pace(flow: FlowControl, mode: Mode) -> Pace:
    slots = flow.limit(mode)
    times = flow.task_times(mode)
    return Pace(
        submits_per_second=flow.limits.for_mode(mode.value).rate(SUBMIT) * RATE_MARGIN,
        slots=slots,
        free_slots=max(0, slots - flow.running(mode)),
        task_seconds=times.seconds if times else None,
    )


def _waited(since: str | None, now: float) -> float | None:
    return None if since is None else round(max(0.0, now - datetime.fromisoformat(since).timestamp()), 3)


def mode_view(line: Line, flow: FlowControl, mode: Mode, now: float) -> ModeView:
    priorities = []
    for priority in PRIORITIES:
        waiting, since = line.waiting(mode, priority)
        priorities.append(PriorityView(priority, waiting, _waited(since, now)))
    waiting = sum(p.waiting for p in priorities)
    oldest = max(
        (p.oldest_wait_seconds for p in priorities if p.oldest_wait_seconds is not None), default=None
    )
    moving = pace(flow, mode)
    return ModeView(
        mode=mode.value,
        slots=moving.slots,
        running=moving.slots - moving.free_slots if moving.slots else flow.running(mode),
        waiting=waiting,
        oldest_wait_seconds=oldest,
        estimated_drain_seconds=_rounded(moving.seconds_to_drain(waiting)),
        task_seconds=_rounded(moving.task_seconds),
        priorities=priorities,
    )


def place(line: Line, flow: FlowControl, entry: LineEntry, now: float) -> dict[str, Any]:
    """Where ``entry`` stands: its position (1: next), the jobs ahead, and when it may start."""
    ahead = line.ahead_of(entry)
    start_in = pace(flow, entry.mode).seconds_until_admitted(ahead)
    view: dict[str, Any] = {
        "priority": entry.priority,
        "position": ahead + 1,
        "ahead": ahead,
        "entered_at": entry.enqueued_at,
        "waited_seconds": _waited(entry.enqueued_at, now),
        "estimated_start_in_seconds": _rounded(start_in),
    }
    if start_in is not None:
        view["estimated_start"] = datetime.fromtimestamp(now + start_in, UTC).isoformat(timespec="seconds")
    return view


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
