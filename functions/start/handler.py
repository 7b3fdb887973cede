"""Start: S3 manifest uploads (``jobs/*.json``, ``jobs/*.jsonl``) and ``LipSync Job Requested`` events
become jobs (``lipsync_core.jobs.entry.deliveries``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.entry import deliveries
from lipsync_core.observability import logger, metric_sink, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    entry = clients.entry_context()
    if "Records" in event:
        records = parse(event=event, model=S3Model).Records
        objects = [(record.s3.bucket.name, record.s3.object) for record in records if record.s3.object]
        outcomes = [
            deliveries.from_object(entry, bucket, o.key, o.versionId, o.eTag) for bucket, o in objects
        ]
    else:
        bus_event = parse(event=event, model=deliveries.RequestEvent)
        outcomes = [deliveries.from_event(entry, bus_event.id, bus_event.detail)]
    for outcome in outcomes:
        logger.info("intake", extra={"outcome": asdict(outcome)})
        metric_sink.add_metric("JobsRejected" if outcome.rejected_reason else "JobsAccepted", "Count", 1)
    return {"outcomes": [asdict(o) for o in outcomes]}
