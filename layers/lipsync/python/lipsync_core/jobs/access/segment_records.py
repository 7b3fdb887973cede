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


def end_segments(
    record: JobRecord, store: JobStore, line: Line, flow: FlowControl, *, reason: str
) -> list[JobRecord]:
    """The job's segments that were still running, now CANCELLED (as they were before)."""
    ended = []
    for segment in segments_of(record, store):
        if not segment.terminal and store.finish(
            segment.job_id, Status.CANCELLED, error={"name": "SegmentStopped", "message": reason}
        ):
            ended.append(segment)
        line.remove(segment.job_id)
        flow.release_slot(segment.job_id, segment.mode)
    return ended
