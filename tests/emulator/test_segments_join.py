"""A voice three times one task's limit, cut at its pauses, each piece rendered by the emulator's
renderer (the service's stand-in), and the results joined: checked frame by frame at every seam."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lipsync.emulator.rendering import Retime as Rendering
from lipsync.emulator.rendering import render
from lipsync_core.media.cutting import cut_video, cut_voice
from lipsync_core.media.joining import JoinError, join
from lipsync_core.media.pauses import find_pauses
from lipsync_core.media.segments import Retime, plan_segments, template_starts
from tests.support.media import (
    audio_samples,
    envelope_correlation,
    make_indexed_video,
    make_phrases,
    source_indices,
)

FPS = Fraction(10)
LIMIT = 4.0  # seconds of voice per task, scaled down from Lite's 240 s
PAUSES = [(2.5, 2.9), (3.4, 3.9), (6.6, 7.0), (9.0, 9.5)]
VOICE_SECONDS = 12.0


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_phrases(tmp_path_factory.mktemp("voice") / "voice.wav", seconds=VOICE_SECONDS, pauses=PAUSES)


def test_the_pauses_are_found_where_the_voice_is_silent(voice: Path) -> None:
    found = find_pauses(voice)
    assert [p.start for p in found] == pytest.approx([start for start, _ in PAUSES], abs=0.03)
    assert [p.end for p in found] == pytest.approx([end for _, end in PAUSES], abs=0.03)


def test_cut_voice_pieces_hold_every_sample_once(voice: Path, tmp_path: Path) -> None:
    segments = plan_segments(VOICE_SECONDS, find_pauses(voice), fps=FPS, max_seconds=LIMIT)
    pieces = cut_voice(voice, segments, tmp_path)
    whole = audio_samples(voice)
    joined = [audio_samples(piece) for piece in pieces]
    assert [len(piece) for piece in joined[:-1]] == [s.frames * 1600 for s in segments[:-1]]
    assert sum(len(piece) for piece in joined) == len(whole)
    assert (np.concatenate(joined) == whole).all()


def test_a_long_lite_voice_becomes_one_video_without_a_seam(voice: Path, tmp_path: Path) -> None:
    template = make_indexed_video(tmp_path / "template.mp4", frames=10, fps=10)
    segments = plan_segments(VOICE_SECONDS, find_pauses(voice), fps=FPS, max_seconds=LIMIT)
    assert len(segments) >= 3
    assert all(s.seconds <= LIMIT for s in segments)
    assert all(any(a <= s.end <= b for a, b in PAUSES) for s in segments[:-1])  # no cut mid-word
    starts = template_starts(
        segments, template_frames=10, template_fps=FPS, start_seconds=0.0, retime=Retime.LOOP
    )
    results = []
    for segment, piece, start in zip(segments, cut_voice(voice, segments, tmp_path), starts, strict=True):
        result = tmp_path / f"result-{segment.index}.mp4"
        render(template, piece, result, retime=Rendering.LOOP, start_seconds=start, mark=False)
        results.append(result)

    report = join(results, [s.frames for s in segments], voice, tmp_path / "joined.mp4", fps=FPS)

    assert report.frames == round(VOICE_SECONDS * 10)
    assert report.adjusted == {}
    assert report.worst_offset_ms == 0.0
    shown = source_indices(tmp_path / "joined.mp4", skip_top_rows=0)
    assert len(shown) == report.frames
    for segment, start in zip(segments[1:], starts[1:], strict=True):
        before, after = shown[segment.first_frame - 1], shown[segment.first_frame]
        assert after == round(start * 10)  # the template continues where it was
        assert after == before + 1 or before == 9, (segment.index, before, after)  # no jump, no repeat
    with av.open(str(tmp_path / "joined.mp4")) as container:
        sound = container.streams.audio[0]
        assert sound.duration is not None
        assert sound.time_base is not None
        assert float(sound.duration * sound.time_base) == pytest.approx(VOICE_SECONDS, abs=0.03)
    assert envelope_correlation(audio_samples(tmp_path / "joined.mp4"), audio_samples(voice)) > 0.95


def test_a_long_basic_pair_is_cut_at_the_same_instants_and_joins_back_to_the_source(tmp_path: Path) -> None:
    video = make_indexed_video(tmp_path / "video.mp4", frames=11, fps=2)
    voice = make_phrases(tmp_path / "voice.wav", seconds=5.5, pauses=[(1.8, 2.3), (3.6, 4.1)])
    fps = Fraction(2)
    segments = plan_segments(5.5, find_pauses(voice), fps=fps, max_seconds=2.5, min_seconds=0.5)
    results = []
    for segment, clip, piece in zip(
        segments, cut_video(video, segments, tmp_path), cut_voice(voice, segments, tmp_path), strict=True
    ):
        result = tmp_path / f"result-{segment.index}.mp4"
        render(clip, piece, result, retime=Rendering.HOLD, mark=False)
        results.append(result)

    report = join(results, [s.frames for s in segments], voice, tmp_path / "joined.mp4", fps=fps)

    assert source_indices(tmp_path / "joined.mp4", skip_top_rows=0) == list(range(11))
    assert report.worst_offset_ms == 0.0


def test_a_result_that_does_not_fit_its_voice_is_refused(voice: Path, tmp_path: Path) -> None:
    short = looped_result(tmp_path, seconds=1.0)
    with pytest.raises(JoinError, match="segment 0's result has 10 frames where its voice needs 20"):
        join([short], [20], voice, tmp_path / "joined.mp4", fps=FPS)


def test_a_result_one_frame_short_is_held_and_reported(tmp_path: Path) -> None:
    voice = make_phrases(tmp_path / "v.wav", seconds=1.0, pauses=[])
    part = looped_result(tmp_path, seconds=0.9)
    report = join([part], [10], voice, tmp_path / "joined.mp4", fps=FPS)
    assert report.adjusted == {0: 1}
    assert source_indices(tmp_path / "joined.mp4", skip_top_rows=0) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]


def looped_result(folder: Path, *, seconds: float) -> Path:
    """What the renderer makes of ``seconds`` of voice on the 10-frame template (10 frames a second)."""
    template = make_indexed_video(folder / "template.mp4", frames=10, fps=10)
    voice = make_phrases(folder / f"voice-{seconds}.wav", seconds=seconds, pauses=[])
    result = folder / f"result-{seconds}.mp4"
    render(template, voice, result, retime=Rendering.LOOP, mark=False)
    return result
