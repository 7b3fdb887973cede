"""The HTTP API (API Gateway REST, IAM-authorised): each route one call into the job domain. Errors and
other methods are answered by ``lipsync_core.jobs.rest_api``; ``python -m tools.docs`` writes the
OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs import clients
from lipsync_core.jobs.domain.contract import JobStatus
from lipsync_core.jobs.domain.documents import parse_body
from lipsync_core.jobs.entry import batches, cancel, queries, requests, uploads
from lipsync_core.jobs.rest_api import RestApi, json_response
from lipsync_core.observability import logger, metric_sink, metrics, tracer

api = RestApi()
app = api.app


@api.route("POST", "/jobs", "Start a lip-sync job", responses={202: {"description": "accepted"}})
def create_job() -> Response[dict[str, Any]]:
    job_id = requests.api_job_id(app.current_event.headers.get("Idempotency-Key"))
    raw = parse_body(app.current_event.body, base64_encoded=bool(app.current_event.is_base64_encoded))
    accepted = requests.accept(raw, source="api", delivery_job_id=job_id, context=clients.entry_context())
    metric_sink.add_metric("JobsAccepted", "Count", 1)
    return json_response(202 if accepted.created else 200, requests.acceptance(accepted))


@api.route("GET", "/jobs/<job_id>", "A job's status, progress and result")
def get_job(job_id: str) -> dict[str, Any]:
    return queries.get_job(job_id, clients.entry_context())


@api.route("GET", "/jobs", "List jobs, newest first")
def list_jobs(
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    return queries.list_jobs(clients.entry_context(), status=status, limit=limit, next_token=next_token)


@api.route("DELETE", "/jobs/<job_id>", "Cancel a job")
def cancel_job(job_id: str) -> dict[str, Any]:
    return cancel.cancel_job(job_id, clients.entry_context())


@api.route("GET", "/queue", "The line: jobs waiting and running per mode and priority, oldest wait, drain")
def get_queue() -> dict[str, Any]:
    return queries.queue(clients.entry_context())


@api.route("POST", "/uploads", "Presigned PUT URLs for a video and a voice track")
def create_uploads(request: uploads.UploadRequest | None = None) -> dict[str, Any]:
    return uploads.upload_urls(request or uploads.UploadRequest(), clients.entry_context())


@api.route("POST", "/batches", "Start a batch: one job request per line (JSON Lines)")
def create_batch() -> Response[dict[str, Any]]:
    batch_id = batches.api_batch_id(app.current_event.headers.get("Idempotency-Key"))
    text = app.current_event.decoded_body or ""
    batch, created = batches.create_batch(text, batch_id=batch_id, context=clients.entry_context())
    return json_response(202 if created else 200, batch)


@api.route("GET", "/batches/<batch_id>", "A batch's progress: its jobs by status, its invalid lines")
def get_batch(batch_id: str) -> dict[str, Any]:
    return batches.summary(batches.get_batch(batch_id, store=clients.job_store()))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.resolve(event, context)
