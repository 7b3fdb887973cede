"""What every workflow step works with, in one object: the job table (and the line in it), the
configuration, the limiter, metrics and the clock. A Lambda environment builds it from its cached clients
(``jobs.clients.step_context``); the service clients a step needs (Volcengine, S3) are passed beside it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.domain.metrics import MetricsSink, NoMetrics
from lipsync_core.jobs.domain.models import JobRequest, JobState
from lipsync_core.jobs.domain.records import JobRecord
from lipsync_core.jobs.domain.settings import Settings


@dataclass(frozen=True)
class StepContext:
    store: JobStore
    settings: Settings
    flow: FlowControl = field(default_factory=FlowControl.unlimited)
    metrics: MetricsSink = field(default_factory=NoMetrics)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @property
    def line(self) -> Line:
        """The line of jobs waiting for capacity (its items live in the job table)."""
        return Line(self.store.table)

    def job(self, job_id: str) -> JobRecord:
        """The job a step works on, its request validated once (as the store reads the record)."""
        return self.store.get(job_id)

    def recorded(self, state: JobState) -> JobRecord:
        """The job of the execution; a job submitted directly (its request in the state) is recorded
        first, by whichever step comes first (Prepare; the line's step for a job that skipped it)."""
        if state.request is None:
            return self.job(state.job_id)
        request = JobRequest.under_policy(state.request, allow_http=self.settings.allow_local_urls)
        record, _ = self.store.create(state.job_id, request)
        return record
