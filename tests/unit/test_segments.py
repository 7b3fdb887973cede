"""Where a long voice is cut (pure arithmetic: no media)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from lipsync_core.media.segments import (
    Pause,
    Retime,
    Segment,
    SegmentingError,
    plan_segments,
    template_starts,
)

FPS = Fraction(25)


def test_a_voice_under_the_limit_is_one_segment() -> None:
    [only] = plan_segments(100.0, [], fps=FPS, max_seconds=240)
    assert (only.first_frame, only.end_frame, only.at_pause) == (0, 2500, True)


def test_segments_tile_the_voice_on_frame_boundaries_within_the_limits() -> None:
    pauses = [Pause(t, t + 0.4) for t in (50.0, 130.0, 200.0, 260.0, 330.0, 410.0, 470.0, 555.0)]
    segments = plan_segments(600.0, pauses, fps=FPS, max_seconds=150, min_seconds=1)
    assert segments[0].first_frame == 0
    assert segments[-1].end_frame == 15000
    for before, after in itertools.pairwise(segments):
        assert before.end_frame == after.first_frame
    assert all(1 <= s.seconds <= 150 for s in segments)
    for segment in segments[:-1]:  # every cut inside a pause
        assert segment.at_pause
        assert any(p.start <= segment.end <= p.end for p in pauses), segment


def test_the_cut_prefers_a_long_pause_near_the_latest_one() -> None:
    breath, sentence_end = Pause(140.0, 140.3), Pause(135.0, 136.5)
    [first, _] = plan_segments(200.0, [sentence_end, breath], fps=FPS, max_seconds=150)
    assert first.end == pytest.approx(sentence_end.middle, abs=1 / 25)


def test_a_voice_without_pauses_is_cut_at_the_window_end_and_says_so() -> None:
    segments = plan_segments(400.0, [], fps=FPS, max_seconds=150)
    assert [s.frames for s in segments] == [3750, 3750, 2500]
    assert [s.at_pause for s in segments] == [False, False, True]


def test_the_last_segment_is_never_shorter_than_a_task_allows() -> None:
    segments = plan_segments(150.5, [], fps=FPS, max_seconds=150, min_seconds=1)
    assert segments[-1].seconds >= 1
    assert sum(s.frames for s in segments) == round(150.5 * 25)


def test_a_pause_too_close_to_the_start_is_not_taken() -> None:
    segments = plan_segments(200.0, [Pause(0.2, 0.6)], fps=FPS, max_seconds=150, min_seconds=1)
    assert segments[0].end_frame > 25  # the pause would leave a first segment under 1 s


def test_sample_ranges_tile_the_voice_at_rates_that_are_not_multiples_of_the_frame_rate() -> None:
    segments = plan_segments(30.0, [], fps=Fraction(30000, 1001), max_seconds=7)
    ranges = [s.sample_range(44100) for s in segments]
    assert ranges[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))


@pytest.mark.parametrize(("duration", "limit"), [(0.5, 150.0), (10.0, 1.5)])
def test_impossible_plans_are_refused(duration: float, limit: float) -> None:
    with pytest.raises(SegmentingError):
        plan_segments(duration, [], fps=FPS, max_seconds=limit)


@pytest.mark.parametrize(
    ("retime", "expected"),
    [
        # 10 template frames read from frame 2; segments of 5, 7 and 4 frames.
        (Retime.LOOP, [2, 7, 8]),  # 2..6 | 7,8,9,7,8,9,7 | from 8
        (Retime.HOLD, [2, 7, 9]),  # 2..6 | 7,8,9,9,9,9,9 | the last frame
        (Retime.PING_PONG, [2, 7, 8]),  # 2..6 | 7,8,9,8,7,8,9 | from 8
    ],
)
def test_each_segment_starts_the_template_where_the_previous_one_stopped(
    retime: Retime, expected: list[int]
) -> None:
    fps = Fraction(10)
    segments = [
        Segment(i, first, end, fps, True) for i, (first, end) in enumerate([(0, 5), (5, 12), (12, 16)])
    ]
    starts = template_starts(segments, template_frames=10, template_fps=fps, start_seconds=0.2, retime=retime)
    assert [round(s * 10) for s in starts] == expected
