"""Reconcile: an execution's end (Step Functions status-change events) and a periodic sweep make
sure every job ends once, is announced once, and gives its capacity back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.contract import DetailType
from lipsync_core.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bus_event = parse(event=event, model=EventBridgeModel)
    if bus_event.detail_type == DetailType.EXECUTION_STATUS_CHANGE:
        detail: dict[str, Any] = event["detail"]  # validated as an EventBridge event above
        outcome = clients.reconciler().execution_ended(
            detail["name"], detail["status"], detail.get("error"), detail.get("cause")
        )
        logger.info("execution ended", extra={"job_id": detail["name"], "outcome": outcome})
        return {"job_id": detail["name"], "outcome": outcome}
    counts = clients.reconciler().sweep()
    logger.info("sweep", extra=counts)
    return counts
