"""Poll (Step Functions task): the task's status and progress, and how long to wait next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import runtime
from lipsync_core.jobs.models import JobState
from lipsync_core.jobs.polling import poll_job
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    cursor = poll_job(
        state,
        store=runtime.job_store(),
        volc=runtime.volc_client(),
        settings=runtime.settings(),
        flow=runtime.flow_control(),
        metrics=metric_sink,
    )
    return cursor.model_dump()
