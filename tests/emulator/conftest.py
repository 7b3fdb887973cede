from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lipsync.emulator import Emulator, ServiceConfig

# Tests move time with the admin clock, never by waiting: schedules are long enough that real time
# passing during a test (even on a loaded machine) cannot change a task's status on its own.
FAST = ServiceConfig(queue_seconds=600.0, generating_base_seconds=600.0, generating_per_voice_second=60.0)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def factory(**kwargs: object) -> Emulator:
        kwargs.setdefault("config", FAST)
        emulator = Emulator(**kwargs).start()  # type: ignore[arg-type]
        started.append(emulator)
        return emulator

    yield factory
    for emulator in started:
        emulator.close()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator()


def finish(emulator: Emulator, task_id: str) -> None:
    """Move the emulated clock past the task's schedule and wait for its render (no sleeping)."""
    task = emulator.admin.task(task_id)
    emulator.admin.advance_clock(
        FAST.queue_seconds
        + FAST.generating_base_seconds
        + FAST.generating_per_voice_second * task["voice_seconds"]
        + 1
    )
    assert emulator.service.wait_rendered(timeout=60)
