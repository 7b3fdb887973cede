"""Dispatch: the line's way out (``lipsync_core.jobs.steps.dispatch``). Three callers: the
``WaitForAdmission`` task (a job enters the line, with the token that resumes it), the flow table's
stream (a slot came back, or a run asked for the next), and a schedule every minute (the backstop,
which also measures the line for the dashboard)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.models import LineRequest
from lipsync_core.jobs.steps.dispatch import RUN_SECONDS, modes_of
from lipsync_core.jobs.steps.wait_for_admission import enter_line
from lipsync_core.observability import logger, metric_sink, metrics, tracer
from lipsync_core.volc import Mode


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    dispatcher = clients.dispatcher(metric_sink)
    if "token" in event:
        request = parse(event=event, model=LineRequest)
        logger.append_keys(job_id=request.state.job_id)
        return enter_line(request, clients.step_context(metric_sink), dispatcher)
    if "Records" in event:
        records = parse(event=event, model=DynamoDBStreamModel).Records
        modes = modes_of([str(record.dynamodb.Keys.get("key", "")) for record in records])
        runs = [dispatcher.run(mode, budget=RUN_SECONDS) for mode in modes]
    else:
        parse(event=event, model=EventBridgeModel)  # the schedule
        runs = [dispatcher.run(mode) for mode in Mode]
        views = dispatcher.measure(time.time())
        logger.info("line", extra={"modes": [view.as_dict() for view in views]})
    outcome = {"runs": [vars(run) for run in runs]}
    logger.info("dispatched", extra=outcome)
    return outcome
