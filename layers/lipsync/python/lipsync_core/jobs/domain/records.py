"""The job table's items as typed records: a job (``JobRecord``) and a batch (``BatchRecord``).

The item format is the table's (``access.job_store`` writes it); these models read it. Every field
that some record may lack (written before the field existed, or not yet set) has a default, and
unknown attributes are ignored, so older records still read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from lipsync_core.volc.models import Mode

from .contract import TERMINAL_STATUSES, JobStatus, Status
from .models import CopiedResult, JobRequest, MediaRef, PreparedInputs, Priority


def iso_now() -> str:
    """Timestamps in records and events: ISO 8601, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _Stored(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Submission(_Stored):
    """A paid task: one per attempt."""

    task_id: str
    request_id: str | None = None
    submitted_at: str


class HistoryEntry(_Stored):
    status: str
    at: str
    attempt: int | None = None  # on SUBMITTED
    task_id: str | None = None  # on SUBMITTED


class JobRecord(_Stored):
    job_id: str
    status: JobStatus
    mode: Mode
    # Validated once, as the record is read: steps get the model, never the raw item.
    request: JobRequest
    source: str = "direct"
    kind: str | None = None  # the by-created index's partition (absent on records older than it)
    created_at: str
    updated_at: str
    finished_at: str | None = None
    deadline_epoch: int | None = None  # set by the first paid submission: the deadline bounds paid work
    execution_arn: str | None = None
    attempt: int = 0  # the latest paid attempt
    attempts: dict[str, Submission] = Field(default_factory=dict)  # by attempt number
    claims: dict[str, str] = Field(default_factory=dict)  # attempt number -> when it was claimed
    task_id: str | None = None
    service_status: str | None = None
    progress: int | float | None = None
    polls: int = 0
    history: list[HistoryEntry] = Field(default_factory=list)
    output: CopiedResult | None = None
    error: dict[str, Any] | None = None  # the failure as announced: name, message, retryable, code...
    inputs: PreparedInputs | None = None  # what Prepare found, changed and chose to send
    parent: str | None = None  # a segment's job (``domain.segmenting``); None for a job

    @property
    def inputs_to_submit(self) -> tuple[MediaRef, MediaRef]:
        """The video and the voice to send: as Prepare chose them (normalised copies or the originals),
        or as requested for a job recorded before Prepare existed."""
        if self.inputs is None:
            return self.request.video, self.request.audio
        return self.inputs.video.input, self.inputs.audio.input

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def submission(self, attempt: int) -> Submission | None:
        """The task paid for ``attempt``, if one was recorded."""
        return self.attempts.get(str(attempt))

    @property
    def created_epoch(self) -> float:
        return datetime.fromisoformat(self.created_at).timestamp()


class BatchRecord(_Stored):
    """A batch (``kind = "batch"``): its jobs by line, its invalid lines, and its jobs that ended."""

    # A job's terminal status -> the set of the batch's jobs that ended with it.
    ENDED_SETS: ClassVar[dict[str, str]] = {
        Status.SUCCEEDED: "succeeded",
        Status.FAILED: "failed",
        Status.CANCELLED: "cancelled",
    }

    batch_id: str = Field(validation_alias="job_id")
    kind: Literal["batch"]
    digest: str
    total: int
    jobs: list[str] = Field(default_factory=list)
    line_errors: list[dict[str, Any]] = Field(default_factory=list)
    succeeded: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    cancelled: frozenset[str] = frozenset()
    created_at: str | None = None
    finished_at: str | None = None

    def ended(self) -> dict[str, list[str]]:
        """The jobs that ended, by set name, sorted."""
        return {name: sorted(getattr(self, name)) for name in self.ENDED_SETS.values()}

    @property
    def all_ended(self) -> bool:
        return sum(len(jobs) for jobs in self.ended().values()) >= self.total


class LineEntry(_Stored):
    """A place in the line: who waits (``holder``: the job, or issue 20's segment of one), for which
    mode's capacity, at which priority since when, and the task token that resumes its execution."""

    holder: str
    job_id: str
    mode: Mode
    priority: Priority
    enqueued_at: str  # ISO 8601 (``iso_now``): first in, first out within a priority
    token: str

    @property
    def enqueued_epoch(self) -> float:
        return datetime.fromisoformat(self.enqueued_at).timestamp()
