"""Batch progress: each terminal event of a batch's job is counted on its batch; the last one
announces ``LipSync Batch Finished`` (see ``lipsync_core.jobs.entry.batches``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.entry import batches
from lipsync_core.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse(event=event, model=EventBridgeModel).detail
    detail: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    finished = batches.record_ended(
        str(detail.get("job_id", "")),
        str(detail.get("status", "")),
        store=clients.job_store(),
        events_client=clients.events_client(),
        settings=clients.settings(),
    )
    return {"batch_finished": finished}
