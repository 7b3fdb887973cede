"""Start: S3 manifest uploads (``jobs/*.json``) and ``LipSync Job Requested`` events become jobs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import batches, runtime
from lipsync_core.jobs.manifests import Intake, RequestEvent
from lipsync_core.observability import logger, metric_sink, metrics, tracer


def intake() -> Intake:
    settings = runtime.settings()
    return Intake(
        store=runtime.job_store(),
        s3=runtime.s3_client(),
        stepfunctions=runtime.stepfunctions_client(),
        events_client=runtime.events_client(),
        settings=settings,
        state_machine_arn=settings.state_machine_arn,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        s3_event = parse(event=event, model=S3Model)
        objects = [
            (record.s3.bucket.name, record.s3.object) for record in s3_event.Records if record.s3.object
        ]
        outcomes = [
            (batches.from_manifest if obj.key.endswith(".jsonl") else Intake.from_manifest)(
                intake(), bucket, obj.key, obj.versionId, obj.eTag
            )
            for bucket, obj in objects
        ]
    else:
        bus_event = parse(event=event, model=RequestEvent)
        outcomes = [intake().from_event(bus_event.id, bus_event.detail)]
    for outcome in outcomes:
        logger.info("intake", extra={"outcome": asdict(outcome)})
        metric_sink.add_metric("JobsRejected" if outcome.rejected_reason else "JobsAccepted", "Count", 1)
    return {"outcomes": [asdict(o) for o in outcomes]}
