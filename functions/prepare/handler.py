"""Prepare (Step Functions task, the first): probe the job's inputs before paying, refuse what cannot
work, and convert what the service dislikes into its recommended ranges."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import JobState
from lipsync_core.jobs.steps.prepare import prepare_job
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    step = clients.step_context(metric_sink)
    return prepare_job(state, step, s3=clients.s3_client()).model_dump(mode="json", exclude_none=True)
