"""Renders in worker processes (``render_in_processes``): the same results, failures reported alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from lipsync.emulator import Emulator
from lipsync_core.volc.errors import VolcTaskFailedError
from tests.emulator.conftest import FAST, finish
from tests.support.media import Media

IN_PROCESSES = dataclasses.replace(FAST, render_in_processes=True)


def test_a_render_in_a_worker_process_gives_a_playable_result(
    make_emulator: Callable[..., Emulator], media: Media
) -> None:
    emulator = make_emulator(config=IN_PROCESSES)
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    finish(emulator, task_id)
    result = client.get_result("lite", task_id)
    assert result.status == "done"
    assert result.video_url
    assert emulator.admin.task(task_id)["render_state"] == "done"


def test_a_render_failure_in_a_worker_process_is_reported(
    make_emulator: Callable[..., Emulator], media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lipsync.emulator.service as service_module
    from tests.support.media import broken_render

    monkeypatch.setattr(service_module, "render", broken_render)
    emulator = make_emulator(config=IN_PROCESSES)
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    finish(emulator, task_id)
    with pytest.raises(VolcTaskFailedError, match="encoder exploded"):
        client.get_result("lite", task_id)
