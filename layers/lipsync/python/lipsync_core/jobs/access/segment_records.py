"""Ending a segmented job's segments with it: a cancelled or failed job's segments that have not ended
are marked CANCELLED (the steps of their iterations then stop at their next step), leave the line, and
give their slots back, so that nothing a job left keeps capacity from the jobs behind it."""

from __future__ import annotations

from lipsync_core.jobs.domain.contract import Status
from lipsync_core.jobs.domain.errors import JobNotFoundError
from lipsync_core.jobs.domain.records import JobRecord

from .flow_control import FlowControl
from .job_store import JobStore
from .line import Line


def segments_of(record: JobRecord, store: JobStore) -> list[JobRecord]:
    plan = record.inputs.segments if record.inputs else None
    found = []
    for segment_id in plan.ids if plan else []:
        try:
            found.append(store.get(segment_id))
        except JobNotFoundError:
            continue
    return found


def stop_segment(segment: JobRecord, store: JobStore, *, reason: str) -> bool:
    """``segment`` CANCELLED because its job ended (False: it had already ended)."""
    return store.finish(segment.job_id, Status.CANCELLED, error={"name": "SegmentStopped", "message": reason})


def end_segments(
    segments: list[JobRecord], store: JobStore, line: Line, flow: FlowControl, *, reason: str
) -> list[JobRecord]:
    """Of a job's ``segments`` (``segments_of``), those that were still running, now CANCELLED (as they
    were before); every one out of the line, its slot given back."""
    ended = []
    for segment in segments:
        if not segment.terminal and stop_segment(segment, store, reason=reason):
            ended.append(segment)
        line.remove(segment.job_id)
        flow.release_slot(segment.job_id, segment.mode)
    return ended
