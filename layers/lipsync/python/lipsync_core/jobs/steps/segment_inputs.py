"""Prepare's part for a voice longer than one task's limit: cut it at its pauses into segments
(``lipsync_core.media.segments``), upload the pieces, and record each segment as a job of its own
(``domain.segmenting``) that the workflow's Map runs through the line, Submit, Poll and CopyResult.

Lite: every segment sends the whole template and its own ``templ_start_seconds``, where the previous
segment's last frame left the template (looping or ping-pong as the options ask). Basic: the video is
cut at the same frames as the voice. Cuts fall on the output's frame boundaries, so the join
(``steps.join_segments``) meets every seam on a frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from lipsync_core.jobs.access.media_sources import download
from lipsync_core.jobs.access.result_urls import UrlPolicy
from lipsync_core.jobs.domain.errors import InputRefusedError
from lipsync_core.jobs.domain.models import JobRequest, MediaRef, OutputLocation, S3Location
from lipsync_core.jobs.domain.segmenting import (
    SEGMENT_SOURCE,
    PlannedSegment,
    SegmentPlan,
    parts_prefix,
    segment_id,
)
from lipsync_core.media.cutting import cut_video, cut_voice
from lipsync_core.media.errors import MediaError
from lipsync_core.media.pauses import find_pauses
from lipsync_core.media.probe import probe
from lipsync_core.media.rules import InputSpec
from lipsync_core.media.segments import Retime, SegmentingError, plan_segments, template_starts
from lipsync_core.volc.models import Mode

from .context import StepContext

FPS_DENOMINATOR = 1001  # NTSC rates (30000/1001) are kept exact


def retime_of(options: dict[str, Any]) -> Retime:
    """How the service fills a Lite voice longer than the template, from the request's options."""
    if options.get("align_audio") is False:
        return Retime.HOLD
    return Retime.PING_PONG if options.get("align_audio_reverse") else Retime.LOOP


def segment_job(
    job_id: str,
    request: JobRequest,
    to_submit: dict[str, MediaRef],
    spec: InputSpec,
    context: StepContext,
    *,
    reader: Any,
    s3: Any,
    policy: UrlPolicy,
    folder: Path,
) -> SegmentPlan:
    """Plan, cut, upload and record the segments of ``job_id``; the plan is what the job records."""
    voice = download(to_submit["audio"], folder / "voice", s3=reader, policy=policy)
    video = download(to_submit["video"], folder / "video", s3=reader, policy=policy)
    fps, template_frames, voice_seconds = _measure(video, voice)
    try:
        segments = plan_segments(
            voice_seconds,
            find_pauses(voice),
            fps=fps,
            max_seconds=spec.max_voice_seconds,
            min_seconds=spec.min_voice_seconds,
        )
    except SegmentingError as error:
        raise InputRefusedError(f"the voice cannot be cut into segments: {error}") from None
    voices = cut_voice(voice, segments, folder)
    bucket, prefix = context.settings.bucket_name, f"{context.settings.prepared_prefix}{job_id}/segments/"
    voice_refs = [_upload(s3, path, bucket, prefix + path.name, "audio/wav") for path in voices]
    whole_voice = _upload(s3, voice, bucket, prefix + "voice", "application/octet-stream")
    starts: list[float | None] = [None] * len(segments)
    if request.mode is Mode.BASIC:
        clips = cut_video(video, segments, folder)
        video_refs = [_upload(s3, path, bucket, prefix + path.name, "video/mp4") for path in clips]
    else:
        first = float(request.options.get("templ_start_seconds", 0.0))
        starts = list(
            template_starts(
                segments,
                template_frames=template_frames,
                template_fps=fps,
                start_seconds=first,
                retime=retime_of(request.options),
            )
        )
        video_refs = [to_submit["video"]] * len(segments)
    parts = parts_prefix(context.settings.output_prefix, job_id)
    planned = []
    for segment, video_ref, voice_ref, start in zip(segments, video_refs, voice_refs, starts, strict=True):
        child = segment_id(job_id, segment.index)
        options = dict(request.options)
        if start is not None:
            options["templ_start_seconds"] = round(start, 6)
        child_request = request.model_copy(
            update={
                "video": video_ref,
                "audio": voice_ref,
                "options": options,
                "output": OutputLocation(bucket=bucket, key=f"{parts}{segment.index:03d}.mp4"),
                "job_id": None,
                "webhook": None,  # only the job announces
                "normalize": False,  # the pieces are cut from inputs already in range
            }
        )
        context.store.create(child, child_request, source=SEGMENT_SOURCE, parent=job_id)
        planned.append(
            PlannedSegment(
                index=segment.index,
                job_id=child,
                first_frame=segment.first_frame,
                end_frame=segment.end_frame,
                at_pause=segment.at_pause,
                templ_start_seconds=start,
            )
        )
    assert whole_voice.s3 is not None
    return SegmentPlan(
        fps=str(fps),
        voice_seconds=voice_seconds,
        max_seconds=spec.max_voice_seconds,
        voice_key=whole_voice.s3.key,
        segments=planned,
    )


def _measure(video: Path, voice: Path) -> tuple[Fraction, int, float]:
    """The video's frame rate and frame count, and the voice's duration, as the files to submit hold
    them (after normalisation)."""
    try:
        with video.open("rb") as file:
            picture = probe(file, size=video.stat().st_size, name="the video")
        with voice.open("rb") as file:
            sound = probe(file, size=voice.stat().st_size, name="the voice")
    except MediaError as error:
        raise InputRefusedError(str(error)) from None
    stream = picture.video
    if stream is None or not stream.fps:
        raise InputRefusedError("the video has no frame rate to cut its segments at")
    fps = Fraction(stream.fps).limit_denominator(FPS_DENOMINATOR)
    seconds = stream.duration or picture.duration or 0.0
    voice_seconds = (sound.audio.duration if sound.audio else None) or sound.duration or 0.0
    return fps, max(1, round(seconds * fps)), voice_seconds


def _upload(s3: Any, path: Path, bucket: str, key: str, content_type: str) -> MediaRef:
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
    return MediaRef(s3=S3Location(bucket=bucket, key=key))
