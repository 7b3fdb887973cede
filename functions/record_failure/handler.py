"""RecordFailure (Step Functions task): the job marked FAILED, and the failed event's detail."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import FailureState
from lipsync_core.jobs.steps.record_failure import record_failure
from lipsync_core.observability import metric_sink, workflow_task


@workflow_task(FailureState)
def handler(state: FailureState, context: LambdaContext) -> dict[str, Any]:
    return record_failure(state, clients.step_context(metric_sink))
