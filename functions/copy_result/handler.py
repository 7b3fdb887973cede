"""CopyResult (Step Functions task): the result video into S3, and the success event's detail."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import JobState
from lipsync_core.jobs.steps.copy_result import copy_result
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    step = clients.step_context(metric_sink)
    return copy_result(state, step, volc=clients.volc_client(), s3=clients.s3_client())
