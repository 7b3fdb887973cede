"""The last word on every execution: whatever ended it, the job's record is terminal, its terminal
event is announced once, and its slot for an unfinished task is given back.

Two triggers call this: Step Functions' ``Execution Status Change`` events (on AWS, delivered by an
EventBridge rule for this state machine), and a periodic sweep that catches whatever that missed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from lipsync_core.volc import Mode

from . import events
from .flow_control import FlowControl
from .models import TERMINAL_STATUSES
from .settings import Settings
from .store import JobNotFoundError, JobStore

logger = logging.getLogger(__name__)
# The workflow's own last-resort Fail states: the record or the announcement may be missing.
ANNOUNCEMENT_FAILED = "LipSyncAnnouncementFailed"
FAILURE_NOT_RECORDED = "LipSyncFailureNotRecorded"
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
MAX_CAUSE = 300
SWEEP_MIN_AGE = timedelta(minutes=10)  # younger executions are the status-change rule's business


def _reason(status: str, error: str | None, cause: str | None, settings: Settings) -> dict[str, Any]:
    if status == "TIMED_OUT":
        return {
            "name": "JobDeadlineExceededError",
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
        released = self.flow.release_slot(job_id, Mode.parse(record["mode"]))
        outcome = "slot released" if released else "nothing held"
        if record["status"] in TERMINAL_STATUSES:
            if status == "FAILED" and error == ANNOUNCEMENT_FAILED:
                self._announce(job_id, self.store.get(job_id))
                return f"{outcome}; announced again"
            return outcome
        if status == "SUCCEEDED":  # cannot happen: every success path records the job first
            logger.error("an execution succeeded with its job not terminal", extra={"job_id": job_id})
            return outcome
        failure = {**_reason(status, error, cause, self.settings), "retryable": False}
        if not self.store.finish(job_id, "FAILED", error=failure):
            return outcome  # someone else ended it meanwhile, and announced it
        self._announce(job_id, self.store.get(job_id))
        return f"{outcome}; marked FAILED"

    def _announce(self, job_id: str, record: dict[str, Any]) -> None:
        detail_type, detail = events.terminal_detail(job_id, record)
        events.publish(
            self.events_client,
            bus=self.settings.event_bus_name,
            source=self.settings.event_source,
            detail_type=detail_type,
            detail=detail,
        )

    def sweep(self, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Free slots held by jobs that have ended; end jobs whose executions ended unnoticed."""
        now = now or datetime.now(UTC)
        counts = {"released": 0, "reconciled": 0}
        for mode in Mode:
            for job_id in list(self.flow.holders(mode))[:limit]:
                try:
                    record = self.store.get(job_id)
                except JobNotFoundError:
                    record = None
                if record is None or record["status"] in TERMINAL_STATUSES:
                    counts["released"] += self.flow.release_slot(job_id, mode)
                elif self._reconcile_if_ended(record):
                    counts["reconciled"] += 1
        cutoff = (now - SWEEP_MIN_AGE).isoformat(timespec="milliseconds")
        for status in ("QUEUED", "SUBMITTED", "RUNNING"):
            answer = self.store.table.query(
                IndexName="by-status",
                KeyConditionExpression="#s = :s AND created_at < :cutoff",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": status, ":cutoff": cutoff},
                Limit=limit,
            )
            for item in answer.get("Items", []):
                counts["reconciled"] += self._reconcile_if_ended(dict(item))
        return counts

    def _reconcile_if_ended(self, record: dict[str, Any]) -> bool:
        arn = record.get("execution_arn")
        if not arn:
            return False
        try:
            execution = self.stepfunctions.describe_execution(executionArn=arn)
        except self.stepfunctions.exceptions.ExecutionDoesNotExist:
            return False
        if execution["status"] not in ENDED or execution["status"] == "SUCCEEDED":
            return False
        self.execution_ended(
            str(record["job_id"]), execution["status"], execution.get("error"), execution.get("cause")
        )
        return True
