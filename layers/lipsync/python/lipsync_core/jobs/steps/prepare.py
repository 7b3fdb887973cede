"""Prepare, the workflow's first state: look at the inputs before the job waits for capacity or anything
is paid for. Each is probed from its headers (ranged reads of S3 or the URL), judged against the mode's
recommended ranges (``lipsync_core.media.rules``), refused when the service cannot take it
(``InputRefusedError``, with every reason), and, when the request allows it (``normalize``, on by
default), converted into those ranges: the copies go under the bucket's ``prepared/<job_id>/``. What was
found, what was changed and what is to be sent are recorded on the job (``inputs``), where Submit and
``GET /jobs/{id}`` read them. A voice longer than one task's limit is cut into segments, each recorded as
a job of its own (``steps.segment_inputs``); the plan is recorded with the inputs, and returned for the
workflow's Map."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lipsync_core.jobs.access.media_sources import download, open_input
from lipsync_core.jobs.access.presigning import input_reader
from lipsync_core.jobs.access.result_urls import UrlPolicy
from lipsync_core.jobs.domain import metrics as m
from lipsync_core.jobs.domain.errors import InputRefusedError, JobAlreadyFinishedError
from lipsync_core.jobs.domain.models import JobState, MediaRef, PreparedInputs, S3Location
from lipsync_core.media.errors import MediaError
from lipsync_core.media.normalise import normalise_audio, normalise_video
from lipsync_core.media.probe import MediaInfo, probe
from lipsync_core.media.rules import Verdict, judge

from .context import StepContext
from .segment_inputs import segment_job

NAMES = {"video": "the video", "audio": "the voice"}
PREPARED = {"video": ("video.mp4", "video/mp4"), "audio": ("audio.wav", "audio/wav")}


def input_policy(allow_local: bool) -> UrlPolicy:
    return UrlPolicy(allow_local=allow_local, connect_timeout=5.0, read_timeout=30.0, subject="input")


def prepare_job(state: JobState, context: StepContext, *, s3: Any, sts: Any = None) -> PreparedInputs:
    settings = context.settings
    record = context.recorded(state)
    if record.terminal:
        raise JobAlreadyFinishedError(f"job {state.job_id} is already {record.status}")
    if record.inputs is not None:  # a retry after the inputs were recorded: nothing to do again
        return record.inputs
    request = record.request
    reader, _ = input_reader(settings, s3, job_id=state.job_id, sts=sts)
    policy = input_policy(settings.allow_local_urls)
    refs = {"video": request.video, "audio": request.audio}
    found = {kind: _probe(ref, NAMES[kind], reader, policy) for kind, ref in refs.items()}
    verdict = judge(found["video"], found["audio"], settings.input_specs.of(request.mode))
    if verdict.refused:
        context.metrics.add_metric(m.INPUTS_REFUSED, "Count", 1)
        raise InputRefusedError("; ".join(verdict.refusals))
    notes = list(verdict.notes)
    converted = (
        _normalised(state.job_id, refs, verdict, reader, s3, policy, context) if request.normalize else {}
    )
    if converted:
        context.metrics.add_metric(m.INPUTS_NORMALISED, "Count", 1)
    plan = None
    if verdict.needs_segments:
        to_submit = {kind: converted.get(kind, ref) for kind, ref in refs.items()}
        with tempfile.TemporaryDirectory(prefix="segments-") as folder:
            plan = segment_job(
                state.job_id,
                request,
                to_submit,
                settings.input_specs.of(request.mode),
                context,
                reader=reader,
                s3=s3,
                policy=policy,
                folder=Path(folder),
            )
        context.metrics.add_metric(m.SEGMENTS, "Count", len(plan.segments))
        notes.append(plan.describe())
    if verdict.changes and not request.normalize:
        notes.append("not normalised (normalize is false): " + "; ".join(verdict.changes))
    changes = {"video": verdict.video_changes, "audio": verdict.audio_changes}
    probes = {kind: info.to_dict() for kind, info in found.items() if isinstance(info, MediaInfo)}
    prepared = {
        kind: {
            "probe": probes[kind],
            "input": converted.get(kind, ref).model_dump(exclude_none=True),
            "changes": changes[kind] if kind in converted else [],
        }
        for kind, ref in refs.items()
    }
    # The inputs' URLs passed the stack's URL policy at intake; validated again under the same policy.
    inputs = PreparedInputs.model_validate(
        {
            **prepared,
            "notes": notes,
            "needs_segments": verdict.needs_segments,
            "normalized": bool(converted),
            "segments": plan.model_dump() if plan else None,
        },
        context={"allow_http": settings.allow_local_urls},
    )
    if not context.store.record_inputs(state.job_id, inputs):
        raise JobAlreadyFinishedError(f"job {state.job_id} ended while its inputs were prepared")
    return inputs


def _probe(ref: MediaRef, name: str, reader: Any, policy: UrlPolicy) -> MediaInfo | MediaError:
    """What ``ref`` holds, or why it cannot be read (a refusal: the judge gives every reason at once)."""
    source = open_input(ref, s3=reader, policy=policy)
    try:
        return probe(source, size=source.size, name=name)
    except MediaError as error:
        return error


def _normalised(
    job_id: str,
    refs: dict[str, MediaRef],
    verdict: Verdict,
    reader: Any,
    s3: Any,
    policy: UrlPolicy,
    context: StepContext,
) -> dict[str, MediaRef]:
    """The converted copies, uploaded; only the inputs that needed converting."""
    conversions: dict[str, Callable[[Path, Path], None]] = {}
    if (video := verdict.video) is not None:
        conversions["video"] = lambda source, output: normalise_video(source, output, video)
    if (audio := verdict.audio) is not None:
        conversions["audio"] = lambda source, output: normalise_audio(source, output, audio)
    bucket, prefix = context.settings.bucket_name, context.settings.prepared_prefix
    converted: dict[str, MediaRef] = {}
    with tempfile.TemporaryDirectory(prefix="prepare-") as folder:
        for kind, convert in conversions.items():
            name, content_type = PREPARED[kind]
            source = download(refs[kind], Path(folder) / f"source-{kind}", s3=reader, policy=policy)
            output = Path(folder) / name
            convert(source, output)
            key = f"{prefix}{job_id}/{name}"
            s3.upload_file(str(output), bucket, key, ExtraArgs={"ContentType": content_type})
            converted[kind] = MediaRef(s3=S3Location(bucket=bucket, key=key))
    return converted
