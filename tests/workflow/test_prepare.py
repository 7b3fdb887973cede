"""The prepare step (not yet in the workflow) through its handler, as the local stack runs it: inputs in
moto's S3 (read through the input reader role) or behind an https-like URL that answers ranges, probed
from their headers; what the service cannot take refused with its reason and nothing paid; what it
dislikes converted, checked by probing the converted files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from lipsync.local.lambda_functions import LambdaContext
from lipsync.local.stack import load_handler
from lipsync.media.samples import make_voice
from lipsync_core.jobs import clients
from lipsync_core.jobs.access.media_sources import open_input
from lipsync_core.jobs.domain.errors import InputRefusedError
from lipsync_core.jobs.domain.models import JobRequest, MediaRef
from lipsync_core.jobs.steps.prepare import input_policy
from lipsync_core.media.probe import MediaInfo, probe
from tests.support.media import Media, make_indexed_video, make_mp3, source_indices
from tests.workflow.conftest import Pipeline


def prepare(pipeline: Pipeline, job_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Record the job as intake would, then run the prepare handler on it."""
    clients.job_store().create(job_id, JobRequest.under_policy(request, allow_http=True))
    answer: dict[str, Any] = load_handler("prepare")(
        {"job_id": job_id}, LambdaContext(function_name="prepare")
    )
    return answer


def upload(pipeline: Pipeline, path: Path, key: str) -> str:
    boto3.client("s3").upload_file(str(path), pipeline.bucket, key)
    return f"s3://{pipeline.bucket}/{key}"


def probed(pipeline: Pipeline, key: str, tmp_path: Path) -> tuple[MediaInfo, Path]:
    local = tmp_path / Path(key).name
    boto3.client("s3").download_file(pipeline.bucket, key, str(local))
    with local.open("rb") as file:
        return probe(file, size=local.stat().st_size, name=key), local


@pytest.mark.parametrize(
    ("video", "audio", "reason"),
    [
        ("audio-only.mp4", "voice.wav", "the video has no video stream"),
        ("face.mp4", "face.mp4", "the voice has no audio stream"),
        ("garbage.mp4", "voice.wav", "cannot read the video"),
        ("empty.mp4", "voice.wav", "the video is empty"),
        ("face.mp4", "garbage.mp4", "cannot read the voice"),
    ],
)
def test_what_the_service_cannot_take_is_refused_unpaid(
    pipeline: Pipeline, media: Media, video: str, audio: str, reason: str
) -> None:
    request = {"mode": "lite", "video": media.url(video), "audio": media.url(audio)}
    with pytest.raises(InputRefusedError, match=reason):
        prepare(pipeline, "refused-" + reason.replace(" ", "-"), request)
    assert pipeline.emulator.admin.submissions()["total"] == 0
    assert not [key for key in pipeline.objects() if key.startswith("prepared/")]


def test_a_voice_longer_than_segments_allow_is_refused_unpaid(
    pipeline: Pipeline, media: Media, specs: Any
) -> None:
    request = {"mode": "basic", "video": media.url("face.mp4"), "audio": media.url("voice.wav")}
    specs('{"basic": {"max_voice_seconds": 1.5, "max_total_voice_seconds": 1.9, "min_side": 8}}')
    with pytest.raises(InputRefusedError, match=r"the voice lasts 2\.0 s; segments take at most 1\.9 s"):
        prepare(pipeline, "too-long", request)
    assert pipeline.emulator.admin.submissions()["total"] == 0


def test_a_4k_60fps_clip_and_a_44khz_mp3_are_converted_into_the_recommended_ranges(
    pipeline: Pipeline, media: Media, tmp_path: Path, specs: Any
) -> None:
    specs("")  # the reported figures
    clip = make_indexed_video(tmp_path / "4k.mp4", frames=6, fps=60, width=3840, height=2160)
    make_mp3(media.root / "voice 44k.mp3", seconds=1.5)
    request = {
        "mode": "lite",
        "video": upload(pipeline, clip, "inputs/4k.mp4"),  # from S3, through the input reader role
        "audio": media.url("voice 44k.mp3"),  # from a URL, in ranges
    }
    answer = prepare(pipeline, "convert-me", request)

    assert answer["normalized"] is True
    video, audio = answer["video"], answer["audio"]
    assert video["probe"]["video"] == {
        "codec": "h264",
        "duration": 0.1,
        "decodable": True,
        "width": 3840,
        "height": 2160,
        "fps": 60.0,
    }
    assert video["changes"] == [
        "resolution 3840x2160 -> 1920x1080 (recommended 512-1920 x 1080)",
        "frame rate 60 -> 30 fps (recommended 24-30)",
    ]
    assert video["input"] == {"s3": {"bucket": pipeline.bucket, "key": "prepared/convert-me/video.mp4"}}
    converted, local = probed(pipeline, "prepared/convert-me/video.mp4", tmp_path)
    assert converted.video is not None
    assert (converted.video.codec, converted.video.width, converted.video.height) == ("h264", 1920, 1080)
    assert converted.video.fps == 30.0
    assert "mp4" in converted.formats
    assert source_indices(local, skip_top_rows=0) == [0, 2, 4]  # every other frame, none repeated

    assert audio["probe"]["audio"]["codec"] == "mp3"
    assert audio["changes"] == [
        "format mp3 -> WAV (a compressed voice's duration is inexact: segments need it exact)"
    ]
    voice, _ = probed(pipeline, "prepared/convert-me/audio.wav", tmp_path)
    assert voice.audio is not None
    assert (voice.container, voice.audio.codec, voice.audio.sample_rate) == ("wav", "pcm_s16le", 44100)
    assert voice.audio.duration == pytest.approx(1.5, abs=0.06)  # the MP3's padding, at most a frame
    assert pipeline.emulator.admin.submissions()["total"] == 0


def test_inputs_inside_the_ranges_are_kept_and_normalize_false_keeps_any(
    pipeline: Pipeline, media: Media, specs: Any
) -> None:
    specs("")  # the reported figures: 160x120 is under the recommended 512 pixels
    make_indexed_video(media.root / "square.mp4", frames=3, fps=25, width=512, height=512)
    request = {"mode": "lite", "video": media.url("square.mp4"), "audio": media.url("voice.wav")}
    kept = prepare(pipeline, "in-range", request)
    assert (kept["normalized"], kept["video"]["changes"], kept["audio"]["changes"]) == (False, [], [])
    assert kept["video"]["input"] == {"url": media.url("square.mp4")}

    as_is = prepare(pipeline, "as-is", {**request, "video": media.url("face.mp4"), "normalize": False})
    assert as_is["normalized"] is False
    assert as_is["video"]["input"] == {"url": media.url("face.mp4")}
    assert as_is["notes"] == [
        "not normalised (normalize is false): resolution 160x120 -> 682x512 (recommended 512-1920 x 1080)"
    ]


def test_a_probe_reads_the_headers_not_the_file(pipeline: Pipeline, tmp_path: Path) -> None:
    voice = make_voice(tmp_path / "long.wav", seconds=120.0, rate=16000)  # 3.8 MB
    ref = MediaRef.model_validate(upload(pipeline, voice, "inputs/long.wav"))
    reader = open_input(ref, s3=boto3.client("s3"), policy=input_policy(True))
    info = probe(reader, size=reader.size, name="the voice")
    assert info.audio is not None
    assert info.audio.duration == pytest.approx(120.0)
    assert reader.fetched_bytes <= 2 * 256 * 1024 < reader.size / 7
