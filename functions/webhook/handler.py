"""Webhook: a job's terminal event POSTed, signed, to the job's webhook
(``lipsync_core.jobs.entry.webhooks``). An error is raised for a failed delivery: Lambda retries it,
then keeps it in the failure queue."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.entry import webhooks
from lipsync_core.observability import logger, metric_sink, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parse(event=event, model=EventBridgeModel)  # the shape EventBridge sends, or an error
    secret = str(parameters.get_secret(os.environ[webhooks.SECRET_ENV], max_age=300))
    delivered = webhooks.deliver(event, store=clients.job_store(), settings=clients.settings(), secret=secret)
    if delivered:
        metric_sink.add_metric("WebhooksDelivered", "Count", 1)
    return {"delivered": delivered}
