"""Inputs are fetched and decoded; the output is a real re-timed video with the voice as its audio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from lipsync.emulator import Emulator, ServiceConfig
from lipsync.emulator.rendering import Limits, Retime, frame_sequence, mark_box
from lipsync_core.volc import VolcInvalidRequestError
from tests.emulator.conftest import FAST, finish
from tests.support.media import (
    Media,
    audio_samples,
    envelope_correlation,
    source_indices,
    streams_and_durations,
)


@pytest.mark.parametrize(
    ("video", "audio", "code", "fragment"),
    [
        ("missing.mp4", "voice.wav", 50200, "HTTP 404"),
        ("face.mp4", "missing.wav", 50200, "HTTP 404"),
        ("empty.mp4", "voice.wav", 50209, "empty"),
        ("audio-only.mp4", "voice.wav", 50209, "no video stream"),
        ("garbage.mp4", "voice.wav", 50210, "cannot decode"),
        ("face.mp4", "garbage.mp4", 50200, "pure_audio_url"),
    ],
)
def test_bad_inputs_get_the_contract_codes(
    emulator: Emulator, media: Media, video: str, audio: str, code: int, fragment: str
) -> None:
    with pytest.raises(VolcInvalidRequestError, match=fragment) as caught:
        emulator.client().submit_task("lite", media.url(video), media.url(audio))
    assert caught.value.code == code
    assert caught.value.http_status == 400
    assert emulator.admin.submissions()["total"] == 0


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (Limits(max_video_bytes=1000), 50211),
        (Limits(max_audio_bytes=1000), 50213),
        (Limits(max_video_side=320), 50211),
    ],
)
def test_size_limits(make_emulator: Callable[..., Emulator], media: Media, limits: Limits, code: int) -> None:
    emulator = make_emulator(config=ServiceConfig(limits=limits))
    video = "huge.mp4" if limits.max_video_side < 4096 else "face.mp4"
    with pytest.raises(VolcInvalidRequestError) as caught:
        emulator.client().submit_task("lite", media.url(video), media.url("voice.wav"))
    assert caught.value.code == code


def test_a_template_start_beyond_the_video_is_refused(emulator: Emulator, media: Media) -> None:
    with pytest.raises(VolcInvalidRequestError, match="templ_start_seconds"):
        emulator.client().submit_task(
            "lite", media.url("face.mp4"), media.url("voice.wav"), {"templ_start_seconds": 5}
        )


def render_job(
    emulator: Emulator,
    media: Media,
    tmp_path: Path,
    mode: str,
    video: str,
    audio: str,
    options: dict[str, object] | None = None,
) -> Path:
    client = emulator.client()
    task_id = client.submit_task(mode, media.url(video), media.url(audio), options).task_id
    finish(emulator, task_id)
    result = client.get_result(mode, task_id)
    assert result.status == "done", result
    assert result.video_url
    out = tmp_path / f"{task_id}.mp4"
    out.write_bytes(requests.get(result.video_url, timeout=30).content)
    return out


@pytest.mark.parametrize(
    ("mode", "options", "expected"),
    [
        ("lite", None, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4]),
        ("lite", {"align_audio_reverse": True}, [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3]),
        ("lite", {"align_audio": False}, [0, 1, 2, 3, 4] + [4] * 15),
        ("basic", None, [0, 1, 2, 3, 4] + [4] * 15),
        ("lite", {"templ_start_seconds": 0.2}, [2, 3, 4] * 6 + [2, 3]),
    ],
    ids=["loop", "ping-pong", "no-loop", "basic-holds", "template-start"],
)
def test_frames_follow_the_retiming_rule(
    emulator: Emulator,
    media: Media,
    tmp_path: Path,
    mode: str,
    options: dict[str, object] | None,
    expected: list[int],
) -> None:
    # indexed.mp4: 5 frames at 10 fps (0.5 s); voice.wav: 2 s, so 20 output frames.
    out = render_job(emulator, media, tmp_path, mode, "indexed.mp4", "voice.wav", options)
    bottom = mark_box(64, 48)[2]
    assert source_indices(out, skip_top_rows=bottom) == expected


def test_the_output_has_the_voice_duration_both_streams_and_the_mark(
    emulator: Emulator, media: Media, tmp_path: Path
) -> None:
    out = render_job(emulator, media, tmp_path, "lite", "face.mp4", "voice.wav")
    info = streams_and_durations(out)
    frame = 1 / info["fps"]
    assert abs(info["video"] - 2.0) <= frame
    assert abs(info["audio"] - 2.0) <= frame
    assert 2.0 <= info["audio_decoded"] < 2.0 + info["aac_frame"], "every voice sample decodes"
    assert info["audio_codec_is_aac"] == 1.0
    voice = audio_samples(media.root / "voice.wav")
    assert envelope_correlation(audio_samples(out), voice) > 0.95, "the voice is the output's audio"
    assert info["video_codec_is_h264"] == 1.0

    import av

    with av.open(str(out)) as container:
        luma = next(container.decode(video=0)).to_ndarray(format="gray")
    top, left, bottom, right = mark_box(160, 120)
    box = luma[top:bottom, left:right]
    assert (box < 40).mean() > 0.4, "the mark's dark box"
    assert (box > 200).mean() > 0.1, "the mark's light letters"


def test_a_voice_shorter_than_the_video_cuts_the_video(
    emulator: Emulator, media: Media, tmp_path: Path
) -> None:
    out = render_job(emulator, media, tmp_path, "lite", "face.mp4", "short voice.wav")
    info = streams_and_durations(out)
    assert abs(info["video"] - 1.25) <= 1 / info["fps"]
    assert abs(info["audio"] - 1.25) <= 1 / info["fps"]


def test_frame_sequence_rules() -> None:
    assert frame_sequence(3, 7, Retime.LOOP) == [0, 1, 2, 0, 1, 2, 0]
    assert frame_sequence(3, 7, Retime.PING_PONG) == [0, 1, 2, 1, 0, 1, 2]
    assert frame_sequence(1, 3, Retime.PING_PONG) == [0, 0, 0]
    assert frame_sequence(3, 5, Retime.HOLD) == [0, 1, 2, 2, 2]
    assert frame_sequence(0, 5, Retime.LOOP) == []


def test_result_urls_expire_like_a_cdn_and_a_new_query_gives_a_fresh_one(
    emulator: Emulator, media: Media
) -> None:
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    finish(emulator, task_id)
    url = client.get_result("lite", task_id).video_url
    assert url
    first = requests.get(url, timeout=30)
    assert (first.status_code, first.headers["Content-Type"]) == (200, "video/mp4")
    assert requests.get(url.replace("sig=", "sig=0"), timeout=30).status_code == 403
    emulator.admin.advance_clock(FAST.result_url_ttl_seconds + 1)
    expired = requests.get(url, timeout=30)
    assert expired.status_code == 403
    assert b"AccessDenied" in expired.content
    fresh = client.get_result("lite", task_id).video_url
    assert fresh
    assert fresh != url
    assert requests.get(fresh, timeout=30).content == first.content
