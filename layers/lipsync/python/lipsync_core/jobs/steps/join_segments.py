"""JoinSegments: a segmented job's results (one per segment, under the output prefix's ``_segments/``)
joined into the job's result (``lipsync_core.media.joining``): their frames in order at the plan's frame
rate, the whole voice as the sound, so that picture and sound agree at every seam. The result is
written as CopyResult writes one (checksummed parts, once), with ``<key>.job.json`` beside it naming
every segment's task and the seams; the job is marked SUCCEEDED, then the parts are removed."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.access.multipart import upload_file
from lipsync_core.jobs.access.outputs import document_key, output_location, write_job_document
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.contract import Status
from lipsync_core.jobs.domain.errors import JobAlreadyFinishedError, SegmentsJoinError
from lipsync_core.jobs.domain.events import succeeded_detail
from lipsync_core.jobs.domain.models import CopiedResult, JobState
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.segmenting import SegmentPlan
from lipsync_core.media.joining import JoinError, JoinReport, join

from .context import StepContext

logger = logging.getLogger(__name__)


def join_segments(state: JobState, context: StepContext, *, s3: Any) -> dict[str, Any]:
    """Join, write, record; returns the success event's detail."""
    settings = context.settings
    record = context.job(state.job_id)
    if record.terminal:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record.status}")
    plan = record.inputs.segments if record.inputs else None
    if plan is None:
        raise SegmentsJoinError(f"job {state.job_id} has no segments to join")
    segments = [context.job(planned.job_id) for planned in plan.segments]
    unfinished = [s.job_id for s in segments if s.status != Status.SUCCEEDED or s.output is None]
    if unfinished:
        raise SegmentsJoinError(f"segments without a result: {', '.join(unfinished)}")
    bucket, key = output_location(state.job_id, record.request, settings)
    with tempfile.TemporaryDirectory(prefix="join-") as scratch:
        folder = Path(scratch)
        parts: list[Path] = []
        for segment in segments:
            assert segment.output is not None
            parts.append(folder / f"part-{len(parts):03d}.mp4")
            s3.download_file(segment.output.bucket, segment.output.key, str(parts[-1]))
        voice = folder / "voice"
        s3.download_file(settings.bucket_name, plan.voice_key, str(voice))
        joined = folder / "joined.mp4"
        try:
            report = join(parts, [s.frames for s in plan.segments], voice, joined, fps=plan.frame_rate)
        except JoinError as error:
            raise SegmentsJoinError(str(error)) from None
        size, sha256 = upload_file(
            joined, s3, bucket, key, part_bytes=settings.copy_part_bytes, metadata={"job-id": state.job_id}
        )
    copied = CopiedResult(
        bucket=bucket,
        key=key,
        size_bytes=size,
        sha256=sha256,
        job_document_key=document_key(key),
        duration_seconds=round(report.video_seconds, 3),
    )
    write_job_document(
        s3, bucket, copied.job_document_key, state.job_id, _document(record, plan, segments, copied, report)
    )
    if not context.store.finish(state.job_id, Status.SUCCEEDED, output=copied.model_dump()):
        raise JobAlreadyFinishedError(f"job {state.job_id} ended while its segments were joined")
    _remove_parts(s3, segments)
    context.metrics.add_metric(m.SUCCEEDED, "Count", 1)
    context.metrics.add_metric(m.SEGMENTS_JOINED, "Count", 1)
    context.metrics.add_metric(
        m.PROCESSING_SECONDS, "Seconds", round(context.clock() - record.created_epoch, 3)
    )
    return succeeded_detail(record, copied, None, segments=len(segments))


def _document(
    record: JobRecord, plan: SegmentPlan, segments: list[JobRecord], copied: CopiedResult, report: JoinReport
) -> dict[str, Any]:
    seams = {seam.segment: seam.offset_ms for seam in report.seams}
    return {
        "job_id": record.job_id,
        "mode": record.mode.value,
        "request": record.request.model_dump(mode="json", exclude_none=True),
        "output": copied.model_dump(),
        "segments": [
            {
                "index": planned.index,
                "job_id": segment.job_id,
                "task_id": segment.task_id,
                "attempt": segment.attempt,
                "frames": planned.frames,
                "seconds": round(float(planned.frames / plan.frame_rate), 6),
                "at_pause": planned.at_pause,
                "templ_start_seconds": planned.templ_start_seconds,
                "seam_offset_ms": seams.get(planned.index),
                "frames_adjusted": report.adjusted.get(planned.index, 0),
            }
            for planned, segment in zip(plan.segments, segments, strict=True)
        ],
        "join": {
            "frames": report.frames,
            "fps": plan.fps,
            "video_seconds": round(report.video_seconds, 6),
            "voice_seconds": round(report.voice_seconds, 6),
            "worst_seam_offset_ms": report.worst_offset_ms,
        },
        "created_at": record.created_at,
    }


def _remove_parts(s3: Any, segments: list[JobRecord]) -> None:
    """The segments' results and documents, now in the job's (best effort: a lifecycle rule expires
    whatever stays)."""
    for segment in segments:
        if segment.output is None:
            continue
        for key in (segment.output.key, segment.output.job_document_key):
            try:
                s3.delete_object(Bucket=segment.output.bucket, Key=key)
            except ClientError as error:
                logger.warning(
                    "a segment's part was not removed",
                    extra={"key": key, "code": error.response.get("Error", {}).get("Code")},
                )
