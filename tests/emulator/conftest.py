from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lipsync.emulator import Emulator, ServiceConfig
from lipsync.localfiles import serve_directory, url_for
from lipsync.samples import make_talking_head, make_voice
from tests.support.media import make_audio_only_mp4, make_indexed_video

# Tests move time with the admin clock, never by waiting: schedules are long enough that real time
# passing during a test (even on a loaded machine) cannot change a task's status on its own.
FAST = ServiceConfig(queue_seconds=600.0, generating_base_seconds=600.0, generating_per_voice_second=60.0)


@dataclass(frozen=True)
class Media:
    base: str
    root: Path

    def url(self, name: str) -> str:
        return url_for(self.base, name)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Media]:
    root = tmp_path_factory.mktemp("media")
    make_talking_head(root / "face.mp4", seconds=1.0, width=160, height=120)
    make_voice(root / "voice.wav", seconds=2.0)
    make_voice(root / "short voice.wav", seconds=0.75)
    make_indexed_video(root / "indexed.mp4", frames=5, fps=10)
    make_audio_only_mp4(root / "audio-only.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "garbage.mp4").write_bytes(b"\x00\x01 not a video at all " * 100)
    make_indexed_video(root / "huge.mp4", frames=1, fps=10, width=640, height=64)
    with serve_directory(root) as base:
        yield Media(base, root)


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
