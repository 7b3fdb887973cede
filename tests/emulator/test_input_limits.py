"""The service's input limits as integrators report them (configurable, reported values by default), and
the codes they report beyond the contract, answered as faults at submit or at task time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lipsync.emulator import Emulator, ServiceConfig
from lipsync.emulator.input_limits import InputLimits
from lipsync.media.samples import make_voice
from lipsync_core.volc import (
    VolcContentModerationError,
    VolcError,
    VolcInvalidRequestError,
    VolcTaskFailedError,
    VolcUnavailableError,
)
from lipsync_core.volc.models import Mode
from tests.emulator.conftest import FAST
from tests.support.media import Media


def with_limits(make_emulator: Callable[..., Emulator], spec: str) -> Emulator:
    limits = InputLimits().with_spec(spec)
    return make_emulator(config=ServiceConfig(**{**FAST.__dict__, "input_limits": limits}))


def test_the_defaults_are_the_reported_voice_lengths() -> None:
    limits = InputLimits()
    lite, basic = limits.of(Mode.LITE), limits.of(Mode.BASIC)
    assert (lite.min_voice_seconds, lite.max_voice_seconds) == (1.0, 240.0)
    assert (basic.min_voice_seconds, basic.max_voice_seconds) == (1.0, 150.0)
    assert lite.max_video_seconds is None  # under 60 s is a recommendation, not a refusal


def test_a_voice_over_the_basic_limit_is_refused_with_50214_and_pays_nothing(
    emulator: Emulator, media: Media
) -> None:
    make_voice(media.root / "long voice.wav", seconds=151.0, rate=8000)
    client = emulator.client()
    with pytest.raises(VolcInvalidRequestError, match=r"151\.00s; basic allows 150s") as caught:
        client.submit_task("basic", media.url("face.mp4"), media.url("long voice.wav"))
    assert (caught.value.code, caught.value.http_status) == (50214, 400)
    # The same voice is within Lite's 240 s.
    assert client.submit_task("lite", media.url("face.mp4"), media.url("long voice.wav")).task_id
    assert emulator.admin.submissions()["total"] == 1


def test_a_voice_under_a_second_is_invalid_input(emulator: Emulator, media: Media) -> None:
    make_voice(media.root / "blip.wav", seconds=0.5)
    with pytest.raises(VolcInvalidRequestError, match="needs at least 1s") as caught:
        emulator.client().submit_task("lite", media.url("face.mp4"), media.url("blip.wav"))
    assert caught.value.code == 50215
    assert emulator.admin.submissions()["total"] == 0


def test_limits_are_configurable_per_mode(make_emulator: Callable[..., Emulator], media: Media) -> None:
    emulator = with_limits(make_emulator, "lite.max_voice_seconds=1.5,basic.max_video_seconds=1")
    client = emulator.client()
    with pytest.raises(VolcInvalidRequestError, match=r"lite allows 1\.5s"):
        client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav"))
    with pytest.raises(VolcInvalidRequestError, match=r"the video lasts 1\.5\ds; basic allows 1s"):
        client.submit_task("basic", media.url("face.mp4"), media.url("short voice.wav"))
    lifted = with_limits(make_emulator, "basic.max_voice_seconds=none,basic.min_voice_seconds=0")
    assert lifted.client().submit_task("basic", media.url("face.mp4"), media.url("voice.wav")).task_id


@pytest.mark.parametrize(
    "spec", ["lite.max_voice=3", "lite=3", "nope.max_voice_seconds=3", "lite.min_voice_seconds=none"]
)
def test_a_bad_limits_spec_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each spec has its own message
        InputLimits().with_spec(spec)


# At submit: the input checks and input moderation. HTTP status: moderation is answered with 200, as
# the SDK observation shows; the rest as their block is.
SUBMIT_CODES = [
    (50214, 400, VolcInvalidRequestError),
    (50215, 400, VolcInvalidRequestError),
    (50411, 200, VolcContentModerationError),
    (50412, 200, VolcContentModerationError),
    (50413, 200, VolcContentModerationError),
    (50518, 200, VolcContentModerationError),
    (50501, 500, VolcUnavailableError),
]


@pytest.mark.parametrize(("code", "status", "error"), SUBMIT_CODES)
def test_a_refused_submit_answers_the_reported_code(
    emulator: Emulator, media: Media, code: int, status: int, error: type[VolcError]
) -> None:
    emulator.admin.add_faults({"fault": "refuse", "code": code, "action": "CVSubmitTask", "count": 1})
    with pytest.raises(error) as caught:
        emulator.client().submit_task("lite", media.url("face.mp4"), media.url("voice.wav"))
    assert (type(caught.value), caught.value.code, caught.value.http_status) == (error, code, status)
    assert emulator.admin.submissions()["total"] == 0


@pytest.mark.parametrize(
    ("code", "error"),
    [(60102, VolcTaskFailedError), (50520, VolcTaskFailedError), (50516, VolcContentModerationError)],
)
def test_a_task_ends_with_the_reported_code(
    emulator: Emulator, media: Media, code: int, error: type[VolcError]
) -> None:
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    emulator.admin.add_faults({"fault": "task_failed", "task_id": task_id, "code": code})
    with pytest.raises(VolcTaskFailedError) as caught:
        client.get_result("lite", task_id)
    assert (type(caught.value), caught.value.code) == (error, code)
    assert emulator.admin.task(task_id)["status"] == "done"
    assert ("No Face Detected" in str(caught.value)) is (code == 60102)
