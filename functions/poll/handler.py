"""Poll (Step Functions task): the task's status and progress, and how long to wait next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import JobState
from lipsync_core.jobs.steps.poll import poll_job
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    return poll_job(state, clients.step_context(metric_sink), volc=clients.volc_client()).model_dump()
