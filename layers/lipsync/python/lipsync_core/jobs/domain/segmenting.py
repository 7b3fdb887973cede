"""A job whose voice is longer than one task's limit runs as segments: each one a job record of its own
(``<job_id>.s<n>``, ``parent`` naming the job), with its own request (its piece of the voice; for Basic
its piece of the video, for Lite the template from where the previous piece left it), its own place in
the line, its own slot, submissions and polls, so that every step of a job serves a segment unchanged.
The job's record keeps the plan (``PreparedInputs.segments``): which segments, their frames, and where
their results go, for the join.

Segments are not jobs to the user: they are listed under their job (``GET /jobs/{id}``), never among
jobs, and announce nothing; only the job has a terminal event."""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

SEGMENT_SOURCE = "segment"  # the record's ``source``
SEGMENT_KIND = "segment"  # the record's ``kind``: not the by-created index's "job", so never listed
_SEGMENT_SUFFIX = re.compile(r"\.s(?P<index>[0-9]{1,4})$")
# Where the segments' results wait for the join, under the output prefix (the copy may write only
# there); the bucket's lifecycle rule expires what a failed job leaves.
PARTS_FOLDER = "_segments/"


def segment_id(job_id: str, index: int) -> str:
    return f"{job_id}.s{index}"


def parent_of(record_id: str) -> str | None:
    """The job a segment belongs to; None for a job."""
    match = _SEGMENT_SUFFIX.search(record_id)
    return record_id[: match.start()] if match else None


def parts_prefix(output_prefix: str, job_id: str) -> str:
    return f"{output_prefix}{PARTS_FOLDER}{job_id}/"


class PlannedSegment(BaseModel):
    """One segment of the plan: its frames of the output, in the voice's time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0)
    job_id: str
    first_frame: int = Field(ge=0)
    end_frame: int = Field(gt=0)
    at_pause: bool  # whether the cut that ends it lies in a pause
    templ_start_seconds: float | None = None  # Lite: where its template starts

    @property
    def frames(self) -> int:
        return self.end_frame - self.first_frame


class SegmentPlan(BaseModel):
    """The job's segments, in order, at ``fps`` (a fraction as text, "25" or "30000/1001")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fps: str
    voice_seconds: float
    max_seconds: float  # one task's limit the plan keeps to
    voice_key: str  # the whole voice the segments were cut from (the stack's bucket): the join's sound
    segments: list[PlannedSegment] = Field(min_length=2)

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def ids(self) -> list[str]:
        return [segment.job_id for segment in self.segments]

    def describe(self) -> str:
        cuts = len(self.segments) - 1
        in_pauses = sum(segment.at_pause for segment in self.segments[:-1])
        return (
            f"{self.voice_seconds:.1f} s of voice in {len(self.segments)} segments of at most "
            f"{self.max_seconds:g} s ({in_pauses} of {cuts} cuts in pauses)"
        )
