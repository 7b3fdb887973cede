"""CopyResult (Step Functions task): the result video into S3, and the success event's detail."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import runtime
from lipsync_core.jobs.copying import copy_result
from lipsync_core.jobs.models import JobState
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(JobState)
def handler(state: JobState, context: LambdaContext) -> dict[str, Any]:
    return copy_result(
        state,
        store=runtime.job_store(),
        volc=runtime.volc_client(),
        s3=runtime.s3_client(),
        settings=runtime.settings(),
        flow=runtime.flow_control(),
        metrics=metric_sink,
    )
