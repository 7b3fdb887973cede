"""What the entry side works with, in one object: the job table, the configuration, and the AWS
clients a request may need. A Lambda environment builds it from its cached clients
(``jobs.clients.entry_context``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.volc import VolcClient


def _no_volc() -> VolcClient:
    raise RuntimeError("no Volcengine client here")


@dataclass(frozen=True)
class EntryContext:
    store: JobStore
    settings: Settings
    stepfunctions: Any = None  # boto3 clients
    s3: Any = None
    events_client: Any = None
    flow: FlowControl = field(default_factory=FlowControl.unlimited)
    volc: Callable[[], VolcClient] = _no_volc  # built on first use: only cancelling needs it

    @property
    def line(self) -> Line:
        """The line of jobs waiting for capacity (its items live in the job table)."""
        return Line(self.store.table)
