"""A voice whose segments one JoinSegments invocation could not re-encode in time is refused before any
segment is paid for; the budget is output pixels (``InputSpec.max_join_pixels``)."""

from __future__ import annotations

from lipsync_core.media.probe import MediaInfo, StreamInfo
from lipsync_core.media.rules import InputSpec, judge


def pair(width: int, height: int, fps: float, voice_seconds: float) -> tuple[MediaInfo, MediaInfo]:
    video = MediaInfo(
        "mov,mp4,m4a,3gp,3g2,mj2",
        1000,
        20.0,
        StreamInfo("h264", 20.0, True, width=width, height=height, fps=fps),
        None,
    )
    voice = MediaInfo(
        "wav",
        1000,
        voice_seconds,
        None,
        StreamInfo("pcm_s16le", voice_seconds, True, sample_rate=16000, channels=1),
    )
    return video, voice


def test_ten_minutes_of_720p_are_joined_and_ten_of_1080p_are_refused_unpaid() -> None:
    spec = InputSpec()
    fits = judge(*pair(1280, 720, 25.0, 600.0), spec)
    assert fits.refusals == []
    assert fits.needs_segments
    too_long = judge(*pair(1920, 1080, 25.0, 600.0), spec)
    assert too_long.refused
    assert too_long.refusals == [
        "the voice lasts 600.0 s; at 1920x1080 and 25 fps its segments can be joined for at most 289 s of "
        "voice (a lower resolution joins longer)"
    ]


def test_a_voice_within_one_task_is_never_judged_by_the_join() -> None:
    assert judge(*pair(1920, 1080, 30.0, 200.0), InputSpec()).refusals == []
