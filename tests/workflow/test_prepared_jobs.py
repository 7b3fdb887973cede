"""Jobs through the local pipeline with Prepare as their first state: what the service cannot take ends
FAILED before anything is paid (every reason given, one Failed event), what it dislikes is converted and
the converted copy is what the service receives, and ``GET /jobs/{id}`` shows what the probe found and
what was changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from lipsync_core.media.probe import probe
from tests.support.media import Media, make_indexed_video, source_indices
from tests.workflow.conftest import Pipeline
from tests.workflow.test_entry_points import api
from tests.workflow.test_state_machine import states_entered, the_one_event


def refused(pipeline: Pipeline, job_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Runs a job that Prepare must refuse; its announced error, once checked that nothing was paid."""
    description = pipeline.run(job_id, request)
    assert description["status"] == "FAILED"
    assert "Submit" not in states_entered(pipeline, description)
    assert pipeline.emulator.admin.submissions()["total"] == 0
    error: dict[str, Any] = the_one_event(pipeline, job_id)["detail"]["error"]
    assert (error["name"], error["retryable"]) == ("InputRefusedError", False)
    status, job = api("GET", f"/jobs/{job_id}")
    assert (status, job["status"], job["error"]["message"]) == (200, "FAILED", error["message"])
    return error


def test_a_voice_without_sound_is_refused_unpaid(pipeline: Pipeline, media: Media) -> None:
    error = refused(pipeline, "no-sound", pipeline.request(audio=media.url("face.mp4")))
    assert error["message"] == "the voice has no audio stream"


def test_every_reason_is_given_at_once(pipeline: Pipeline, media: Media) -> None:
    request = pipeline.request(video=media.url("garbage.mp4"), audio=media.url("face.mp4"))
    error = refused(pipeline, "two-reasons", request)
    assert error["message"].startswith("cannot read the video: ")
    assert error["message"].endswith("; the voice has no audio stream")


def test_a_voice_whose_segments_could_not_be_joined_in_time_is_refused_unpaid(
    pipeline: Pipeline, specs: Any
) -> None:
    specs('{"lite": {"max_voice_seconds": 1.5, "min_side": 96, "max_join_pixels": 100000}}')
    error = refused(pipeline, "long-voice", pipeline.request())
    assert error["message"] == (
        "the voice lasts 2.0 s; at 160x120 and 25 fps its segments can be joined for at most 0 s of voice "
        "(a lower resolution joins longer)"
    )


def test_a_60fps_video_is_converted_and_the_copy_is_what_the_service_gets(
    pipeline: Pipeline, media: Media, tmp_path: Path
) -> None:
    make_indexed_video(media.root / "sixty.mp4", frames=10, fps=60, width=160, height=120)
    description = pipeline.run("sixty", pipeline.request(video=media.url("sixty.mp4")))
    assert description["status"] == "SUCCEEDED"
    assert states_entered(pipeline, description)[:4] == ["Prepare", "Segmented", "WaitForAdmission", "Submit"]

    [submitted] = pipeline.emulator.admin.submissions()["items"]
    assert urlsplit(submitted["url"]).path.endswith("/prepared/sixty/video.mp4")  # presigned
    assert submitted["pure_audio_url"] == media.url("voice.wav")  # in range: sent as it is
    status, job = api("GET", "/jobs/sixty")
    assert status == 200
    inputs = job["inputs"]
    assert (inputs["normalized"], inputs["notes"]) == (True, [])
    assert inputs["video"]["probe"]["video"]["fps"] == 60.0
    assert inputs["video"]["changes"] == ["frame rate 60 -> 30 fps (recommended 24-30)"]
    assert inputs["video"]["input"] == {"s3": {"bucket": pipeline.bucket, "key": "prepared/sixty/video.mp4"}}
    assert inputs["audio"] == {
        "probe": inputs["audio"]["probe"],
        "input": {"url": media.url("voice.wav")},
        "changes": [],
    }
    assert inputs["audio"]["probe"]["audio"]["sample_rate"] == 16000

    local = tmp_path / "submitted.mp4"
    boto3.client("s3").download_file(pipeline.bucket, "prepared/sixty/video.mp4", str(local))
    with local.open("rb") as file:
        copy = probe(file, size=local.stat().st_size, name="the copy")
    assert copy.video is not None
    assert (copy.video.codec, copy.video.fps, copy.video.width) == ("h264", 30.0, 160)
    assert source_indices(local, skip_top_rows=0) == [0, 2, 4, 6, 8]  # every other frame
