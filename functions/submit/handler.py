"""Submit (Step Functions task): pay for one lip-sync task for this attempt, or find the one paid for."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import JobState
from lipsync_core.jobs.steps.submit import submit_job
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    step = clients.step_context(metric_sink)
    return submit_job(state, step, volc=clients.volc_client(), s3=clients.s3_client()).model_dump()
