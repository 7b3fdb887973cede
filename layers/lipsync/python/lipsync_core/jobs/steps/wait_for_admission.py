"""WaitForAdmission: the job enters the line, its execution paused on a task token until the dispatcher
admits it (``steps.dispatch``), for nothing while it waits, however long. The step also runs the
dispatcher once, so a job that finds capacity free is admitted at once."""

from __future__ import annotations

from typing import Any

from lipsync_core.jobs.domain.models import LineRequest
from lipsync_core.jobs.domain.records import LineEntry, iso_now

from .context import StepContext
from .dispatch import Dispatcher


def enter_line(request: LineRequest, context: StepContext, dispatcher: Dispatcher) -> dict[str, Any]:
    state = request.state
    record = context.recorded(state)
    if record.terminal:  # cancelled before it reached the line: its execution is being stopped
        return {"job_id": state.job_id, "entered": False, "status": record.status}
    entry = context.line.enter(
        LineEntry(
            holder=request.holder or state.job_id,
            job_id=state.job_id,
            mode=record.mode,
            priority=record.request.priority,
            enqueued_at=iso_now(),
            token=request.token,
        )
    )
    run = dispatcher.run(entry.mode)
    return {"job_id": state.job_id, "entered": True, "holder": entry.holder, "admitted": run.admitted}
