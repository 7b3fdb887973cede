"""JoinSegments (Step Functions task, after the segments' Map): the segments' results joined into the
job's, written to S3 and the job marked SUCCEEDED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import JobState
from lipsync_core.jobs.steps.join_segments import join_segments
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    return join_segments(state, clients.step_context(metric_sink), s3=clients.s3_client())
