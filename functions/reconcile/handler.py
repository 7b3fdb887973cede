"""Reconcile: an execution's end (Step Functions status-change events) and a periodic sweep make
sure every job ends once, is announced once, and gives its capacity back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import runtime
from lipsync_core.jobs.reconcile import Reconciler
from lipsync_core.observability import logger, metrics, tracer

STATUS_CHANGE = "Step Functions Execution Status Change"


def reconciler() -> Reconciler:
    return Reconciler(
        store=runtime.job_store(),
        flow=runtime.flow_control(),
        events_client=runtime.events_client(),
        stepfunctions=runtime.stepfunctions_client(),
        settings=runtime.settings(),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bus_event = parse(event=event, model=EventBridgeModel)
    if bus_event.detail_type == STATUS_CHANGE:
        detail: dict[str, Any] = event["detail"]  # validated as an EventBridge event above
        outcome = reconciler().execution_ended(
            detail["name"], detail["status"], detail.get("error"), detail.get("cause")
        )
        logger.info("execution ended", extra={"job_id": detail["name"], "outcome": outcome})
        return {"job_id": detail["name"], "outcome": outcome}
    counts = reconciler().sweep()
    logger.info("sweep", extra=counts)
    return counts
