"""Voices longer than one task's limit, through the local pipeline: cut at their pauses into segments,
each segment a task of its own through the line (paid once), the results joined into one video whose
frames continue across every seam, with one terminal event for the job. A segment the service loses is
resubmitted alone; a segment that fails fails the job with its reason; cancelling the job stops every
segment.

The media is made to be read back frame by frame: every frame of a template shows its index as a level
of grey, so the joined result says which template frame each of its frames shows."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import boto3
import pytest

from lipsync_core.jobs.domain.segmenting import parent_of
from tests.support.media import (
    Media,
    make_indexed_video,
    make_phrases,
    source_indices,
)
from tests.workflow.conftest import Pipeline
from tests.workflow.test_entry_points import api
from tests.workflow.test_state_machine import the_one_event

FPS = 10
PERIOD = 11  # distinct grey levels a frame can show (tests.support.media)
# One task takes 2 s of voice here (the integrators' figures are minutes; the rules are the same), and
# the frame rates of these tiny test videos are accepted as they are.
SPECS = {
    mode: {"min_side": 96, "min_fps": 5, "max_voice_seconds": 2.0, "min_voice_seconds": 1.0}
    for mode in ("lite", "basic")
}
VOICE_SECONDS = 6.5  # over three times the limit
PAUSES = [(1.55, 1.85), (3.3, 3.6), (5.0, 5.3)]


@pytest.fixture
def long_voice(media: Media) -> str:
    make_phrases(media.root / "long voice.wav", seconds=VOICE_SECONDS, pauses=PAUSES)
    return media.url("long voice.wav")


@pytest.fixture
def segmented(pipeline: Pipeline, specs: Any) -> Pipeline:
    specs(json.dumps(SPECS))
    return pipeline


def looped(segments: list[Any], *, template_frames: int) -> list[int]:
    """The template frames Lite shows for each segment: from its start, looping back to its start
    (the service's ``align_audio``)."""
    shown = []
    for segment in segments:
        start = round((segment.templ_start_seconds or 0.0) * FPS)
        shown += [start + k % (template_frames - start) for k in range(segment.frames)]
    return shown


def result_of(pipeline: Pipeline, job_id: str, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The job's result video, downloaded, and its ``.job.json``."""
    s3 = boto3.client("s3")
    record = pipeline.record(job_id)
    assert record.output is not None
    local = folder / "result.mp4"
    s3.download_file(record.output.bucket, record.output.key, str(local))
    document = json.loads(
        s3.get_object(Bucket=record.output.bucket, Key=record.output.job_document_key)["Body"].read()
    )
    return local, document


def durations(path: Path) -> tuple[int, float, float]:
    """Frames, the video stream's duration and the audio stream's, as decoded."""
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        samples, rate = 0, 1
        for frame in container.decode(audio=0):
            samples, rate = samples + frame.samples, frame.sample_rate
    return frames, frames / FPS, samples / rate


def until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` s (asked again as soon as it is false)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
    return True


def submissions(pipeline: Pipeline) -> list[dict[str, Any]]:
    return list(pipeline.emulator.admin.submissions()["items"])


def test_a_lite_voice_three_times_the_limit_becomes_one_seamless_video(
    segmented: Pipeline, media: Media, long_voice: str, tmp_path: Path
) -> None:
    # Given a 1 s template whose frames show their index, and 6.5 s of voice with three pauses
    make_indexed_video(media.root / "template.mp4", frames=10, fps=FPS, width=160, height=120)
    request = segmented.request(video=media.url("template.mp4"), audio=long_voice)
    # When the job runs
    description = segmented.run("long-lite", request)
    # Then it succeeds with one Succeeded event naming its segments
    assert description["status"] == "SUCCEEDED", description
    event = the_one_event(segmented, "long-lite")
    assert event["detail-type"] == "LipSync Job Succeeded"
    plan = segmented.record("long-lite").inputs
    assert plan is not None
    assert plan.segments is not None
    segments = plan.segments.segments
    assert len(segments) >= 4
    assert event["detail"]["segments"] == len(segments)
    assert all(s.frames <= 2.0 * FPS for s in segments), "every segment within one task's limit"
    assert [s.at_pause for s in segments] == [True] * len(segments), "every cut in a pause"
    # each segment paid once, with the template starting where the previous segment left it
    paid = submissions(segmented)
    assert len(paid) == len(segments)
    sent = sorted(p["options"].get("templ_start_seconds", 0.0) for p in paid)
    planned = [s.templ_start_seconds for s in segments]
    assert planned[0] == 0.0
    assert sent == sorted(s or 0.0 for s in planned)
    # the result: one frame per 1/fps of voice, the sound the whole voice, every seam continuing the loop
    video, document = result_of(segmented, "long-lite", tmp_path)
    frames, video_seconds, audio_seconds = durations(video)
    assert frames == sum(s.frames for s in segments) == round(VOICE_SECONDS * FPS)
    assert abs(video_seconds - VOICE_SECONDS) < 1 / FPS
    assert abs(audio_seconds - VOICE_SECONDS) < 1 / FPS
    shown = source_indices(video, skip_top_rows=0)
    assert shown == looped(segments, template_frames=10), "each frame where the plan puts it"
    for previous, segment in itertools.pairwise(segments):  # the template continues
        start = round((previous.templ_start_seconds or 0.0) * FPS)
        follows = start + (shown[segment.first_frame - 1] - start + 1) % (10 - start)
        assert shown[segment.first_frame] == follows, (segment.index, shown)
    assert [s["seam_offset_ms"] for s in document["segments"][1:]] == [0.0] * (len(segments) - 1)
    # the parts are gone, the job shows its segments, and no segment is listed as a job
    assert not [key for key in segmented.objects() if "/_segments/" in key]
    status, job = api("GET", "/jobs/long-lite")
    assert status == 200
    assert job["segments"]["progress"] == 100.0
    assert job["segments"]["by_status"] == {"SUCCEEDED": len(segments)}
    status, listed = api("GET", "/jobs")
    assert [j["job_id"] for j in listed["jobs"]] == ["long-lite"]


def test_a_basic_pair_is_cut_at_the_same_frames_and_joined_without_a_repeated_or_dropped_frame(
    segmented: Pipeline, media: Media, long_voice: str, tmp_path: Path
) -> None:
    # a Basic video as long as its voice, frame i showing grey level i % PERIOD
    make_indexed_video(
        media.root / "talking.mp4",
        frames=round(VOICE_SECONDS * FPS),
        fps=FPS,
        width=160,
        height=120,
        period=PERIOD,
    )
    request = segmented.request(mode="basic", video=media.url("talking.mp4"), audio=long_voice)
    description = segmented.run("long-basic", request)
    assert description["status"] == "SUCCEEDED", description
    inputs = segmented.record("long-basic").inputs
    assert inputs is not None
    assert inputs.segments is not None
    assert len(submissions(segmented)) == len(inputs.segments.segments) >= 4
    video, _ = result_of(segmented, "long-basic", tmp_path)
    frames, _, audio_seconds = durations(video)
    assert frames == round(VOICE_SECONDS * FPS)
    assert abs(audio_seconds - VOICE_SECONDS) < 1 / FPS
    assert source_indices(video, skip_top_rows=0) == [k % PERIOD for k in range(frames)]


def test_a_segment_the_service_loses_is_resubmitted_alone(
    segmented: Pipeline, media: Media, long_voice: str
) -> None:
    make_indexed_video(media.root / "template.mp4", frames=10, fps=FPS, width=160, height=120)
    segmented.emulator.admin.add_faults({"fault": "expired", "count": 1})
    request = segmented.request(video=media.url("template.mp4"), audio=long_voice)
    description = segmented.run("lost-one", request)
    assert description["status"] == "SUCCEEDED", description
    inputs = segmented.record("lost-one").inputs
    assert inputs is not None
    assert inputs.segments is not None
    records = [segmented.record(s.job_id) for s in inputs.segments.segments]
    assert sorted(r.attempt for r in records) == [1] * (len(records) - 1) + [2], "one segment, twice"
    assert len(submissions(segmented)) == len(records) + 1


def test_a_segment_that_fails_fails_the_job_with_its_reason_and_stops_the_others(
    segmented: Pipeline, media: Media, long_voice: str
) -> None:
    make_indexed_video(media.root / "template.mp4", frames=10, fps=FPS, width=160, height=120)
    segmented.emulator.admin.add_faults(
        {"fault": "task_failed", "code": 50413, "message": "Post Text Risk Not Pass", "count": 1}
    )
    request = segmented.request(video=media.url("template.mp4"), audio=long_voice)
    description = segmented.run("one-fails", request)
    assert description["status"] == "FAILED"
    event = the_one_event(segmented, "one-fails")
    assert event["detail-type"] == "LipSync Job Failed"
    error = event["detail"]["error"]
    assert error["message"].startswith("segment ")
    assert "Post Text Risk Not Pass" in error["message"]
    inputs = segmented.record("one-fails").inputs
    assert inputs is not None
    assert inputs.segments is not None
    statuses = [segmented.record(s.job_id).status for s in inputs.segments.segments]
    assert statuses.count("FAILED") == 1
    assert "QUEUED" not in statuses
    assert "RUNNING" not in statuses
    assert not [key for key in segmented.objects() if key.startswith("outputs/one-fails")]


def test_cancelling_a_segmented_job_stops_every_segment(
    segmented: Pipeline, media: Media, long_voice: str
) -> None:
    make_indexed_video(media.root / "template.mp4", frames=10, fps=FPS, width=160, height=120)
    # Tasks that never finish: the segments are paid for and render until the job is cancelled.
    segmented.emulator.service.config = replace(
        segmented.emulator.service.config, generating_base_seconds=10**9
    )
    request = segmented.request(video=media.url("template.mp4"), audio=long_voice)
    arn = segmented.local.start_job("cancel-me", request)
    assert until(lambda: len(submissions(segmented)) >= 2), "segments are paid for side by side"
    status, cancelled = api("DELETE", "/jobs/cancel-me")
    assert (status, cancelled["status"]) == (200, "CANCELLED")
    # Stopped, or ended by the workflow finding the job already cancelled (JobAlreadyFinished, a
    # Succeed state): either way without a second terminal event (below).
    assert segmented.local.wait(arn, timeout=60)["status"] in ("ABORTED", "SUCCEEDED")
    inputs = segmented.record("cancel-me").inputs
    assert inputs is not None
    assert inputs.segments is not None
    for planned in inputs.segments.segments:
        segment = segmented.record(planned.job_id)
        assert segment.terminal
        assert parent_of(segment.job_id) == "cancel-me"
    assert the_one_event(segmented, "cancel-me")["detail-type"] == "LipSync Job Cancelled"
    assert not [key for key in segmented.objects() if key.startswith("outputs/cancel-me")]
