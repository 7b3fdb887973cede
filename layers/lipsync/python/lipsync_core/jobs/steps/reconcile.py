"""The last word on every execution: whatever ended it, the job's record is terminal, its terminal
event is announced once, it is out of the line, and its slot for an unfinished task is given back.

Two triggers call this: Step Functions' ``Execution Status Change`` events (on AWS, delivered by an
EventBridge rule for this state machine), and a periodic sweep that catches whatever that missed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from lipsync_core.jobs.access.bus import publish
from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.access.segment_records import end_segments, segments_of, stop_segment
from lipsync_core.jobs.domain.contract import NOT_TERMINAL_STATUSES, ErrorName, FailState, Status
from lipsync_core.jobs.domain.errors import JobNotFoundError
from lipsync_core.jobs.domain.events import terminal_detail
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.volc import Mode

logger = logging.getLogger(__name__)
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
MAX_CAUSE = 300
SWEEP_MIN_AGE = timedelta(minutes=10)  # younger executions are the status-change rule's business


def _reason(status: str, error: str | None, cause: str | None, settings: Settings) -> dict[str, Any]:
    if status == "TIMED_OUT":
        return {
            "name": ErrorName.DEADLINE_EXCEEDED,
            "message": f"the job passed its deadline of {settings.job_deadline_seconds} s "
            "and its execution timed out",
        }
    if status == "ABORTED":
        return {"name": "ExecutionAbortedError", "message": "the job's execution was stopped from outside"}
    message = f"the job's execution failed ({error or 'unknown error'})"
    if cause:
        message += f": {cause[:MAX_CAUSE]}"
    return {"name": "ExecutionFailedError", "message": message}


class Reconciler:
    def __init__(
        self,
        *,
        store: JobStore,
        flow: FlowControl,
        events_client: Any,
        stepfunctions: Any,
        settings: Settings,
    ) -> None:
        self.store, self.flow, self.events_client = store, flow, events_client
        self.stepfunctions, self.settings = stepfunctions, settings

    def execution_ended(
        self, job_id: str, status: str, error: str | None = None, cause: str | None = None
    ) -> str:
        """What was done for ``job_id`` whose execution ended with ``status``."""
        try:
            record = self.store.get(job_id)
        except JobNotFoundError:
            return "no record"
        line = Line(self.store.table)
        line.remove(job_id)  # an execution stopped while it waited
        released = self.flow.release_slot(job_id, record.mode)
        outcome = "slot released" if released else "nothing held"
        # A segmented job's segments ran in its execution: whatever ended it ended them.
        segments = segments_of(record, self.store)
        if end_segments(segments, self.store, line, self.flow, reason="the job's execution ended"):
            outcome += "; segments stopped"
        if record.terminal:
            if status == "FAILED" and error == FailState.ANNOUNCEMENT_FAILED:
                self._announce(self.store.get(job_id))
                return f"{outcome}; announced again"
            return outcome
        if status == "SUCCEEDED":  # cannot happen: every success path records the job first
            logger.error("an execution succeeded with its job not terminal", extra={"job_id": job_id})
            return outcome
        failure = {**_reason(status, error, cause, self.settings), "retryable": False}
        if not self.store.finish(job_id, Status.FAILED, error=failure):
            return outcome  # someone else ended it meanwhile, and announced it
        self._announce(self.store.get(job_id))
        return f"{outcome}; marked FAILED"

    def _announce(self, record: JobRecord) -> None:
        publish(self.events_client, self.settings, *terminal_detail(record))

    def sweep(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Free slots held by jobs that have ended; end jobs whose executions ended unnoticed."""
        now = now or datetime.now(UTC)
        counts = {"released": 0, "reconciled": 0}
        for mode in Mode:
            for job_id in list(self.flow.holders(mode))[:limit]:
                try:
                    record: JobRecord | None = self.store.get(job_id)
                except JobNotFoundError:
                    record = None
                if record is None or record.terminal or self._orphaned(record):
                    counts["released"] += self.flow.release_slot(job_id, mode)
                elif self._reconcile_if_ended(record):
                    counts["reconciled"] += 1
        cutoff = (now - SWEEP_MIN_AGE).isoformat(timespec="milliseconds")
        for status in NOT_TERMINAL_STATUSES:
            for page in self.store.created_before(status, cutoff, limit):
                for stale in page:
                    counts["reconciled"] += self._reconcile_if_ended(stale)
        return counts

    def _orphaned(self, segment: JobRecord) -> bool:
        """A segment whose job has ended (its execution, and the segment's iteration with it, is over):
        ended too, so that its slot is given back."""
        if segment.parent is None:
            return False
        try:
            job = self.store.get(segment.parent)
        except JobNotFoundError:
            job = None
        if job is not None and not job.terminal:
            return False
        stop_segment(segment, self.store, reason="its job had ended")
        return True

    def _reconcile_if_ended(self, record: JobRecord) -> bool:
        arn = record.execution_arn
        if not arn:
            return False
        try:
            execution = self.stepfunctions.describe_execution(executionArn=arn)
        except self.stepfunctions.exceptions.ExecutionDoesNotExist:
            return False
        if execution["status"] not in ENDED or execution["status"] == "SUCCEEDED":
            return False
        self.execution_ended(
            record.job_id, execution["status"], execution.get("error"), execution.get("cause")
        )
        return True
