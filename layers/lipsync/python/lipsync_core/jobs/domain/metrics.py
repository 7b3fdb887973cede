"""The metrics the workflow emits, behind a tiny protocol so logic does not depend on Powertools."""

from __future__ import annotations

from typing import Protocol


class MetricsSink(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class NoMetrics:
    def add_metric(self, name: str, unit: str, value: float) -> None:
        return None


SUBMITTED = "JobsSubmitted"
SUCCEEDED = "JobsSucceeded"
FAILED = "JobsFailed"
POLLS = "Polls"
THROTTLES = "Throttles"
PROCESSING_SECONDS = "ProcessingSeconds"
BYTES_COPIED = "BytesCopied"
ADMITTED = "JobsAdmitted"
# The line, measured by the dispatcher's scheduled run (the dashboard's gauges).
LINE_LENGTH = "LineLength"
OLDEST_WAIT = "OldestWaitSeconds"
SLOTS_HELD = "SlotsHeld"
SLOT_UTILISATION = "SlotUtilisation"
INPUTS_REFUSED = "InputsRefused"  # jobs Prepare refused (nothing paid)
INPUTS_NORMALISED = "InputsNormalised"  # jobs whose inputs Prepare converted
SEGMENTS = "Segments"  # segments Prepare cut long voices into (one paid task each)
SEGMENTS_JOINED = "SegmentsJoined"  # jobs whose segments' results were joined
