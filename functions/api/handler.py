"""The HTTP API (API Gateway REST, IAM-authorised): jobs and upload URLs. Errors are JSON."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from lipsync_core.jobs import batches, queries, runtime
from lipsync_core.jobs.intake import JobConflictError, RequestRejectedError, accept, derive_job_id
from lipsync_core.jobs.limits import (
    MAX_IDEMPOTENCY_KEY_CHARS,
    DocumentRejectedError,
    DocumentTooLargeError,
    parse_document,
)
from lipsync_core.jobs.models import JOB_ID_PATTERN, JobStatus
from lipsync_core.jobs.store import JobNotFoundError
from lipsync_core.observability import logger, metric_sink, metrics, tracer

app = APIGatewayRestResolver(enable_validation=True)


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    video_content_type: str = Field(default="video/mp4", pattern=r"^video/[\w.+-]+$")
    audio_content_type: str = Field(default="audio/wav", pattern=r"^audio/[\w.+-]+$")


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body={"message": message, **extra},
    )


_IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_CHARS}}}$")


def _idempotency_key() -> str | None:
    key = app.current_event.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        message = f"must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        raise DocumentRejectedError("Idempotency-Key", message)
    return key


def _json_body() -> Any:
    """The body as JSON within the documented limits (size, UTF-8, depth), or a 4xx naming ``(body)``."""
    body = app.current_event.body
    if not body:
        raise DocumentRejectedError("(body)", "is required: a JSON job request")
    if app.current_event.is_base64_encoded:
        try:
            return parse_document(base64.b64decode(body, validate=True))
        except binascii.Error:
            raise DocumentRejectedError("(body)", "is not valid base64") from None
    return parse_document(body)


def _job_id(job_id: str) -> str:
    """A path that cannot name a job is answered like an unknown job, without asking DynamoDB."""
    if not re.match(JOB_ID_PATTERN, job_id):
        raise JobNotFoundError(job_id)
    return job_id


@app.post("/jobs", summary="Start a lip-sync job", responses={202: {"description": "accepted"}})
def create_job() -> Response[dict[str, Any]]:
    key = _idempotency_key()
    delivery = derive_job_id("api", key) if key else f"api-{uuid.uuid4().hex}"
    settings = runtime.settings()
    accepted = accept(
        _json_body(),
        source="api",
        delivery_job_id=delivery,
        store=runtime.job_store(),
        stepfunctions=runtime.stepfunctions_client(),
        settings=settings,
        state_machine_arn=settings.state_machine_arn,
    )
    metric_sink.add_metric("JobsAccepted", "Count", 1)
    body = {
        "job_id": accepted.job_id,
        "status": accepted.record.get("status", "QUEUED"),
        "created": accepted.created,
        "links": {"self": f"/jobs/{accepted.job_id}"},
    }
    return Response(
        status_code=202 if accepted.created else 200, content_type=content_types.APPLICATION_JSON, body=body
    )


@app.get("/jobs/<job_id>", summary="A job's status, progress and result")
def get_job(job_id: str) -> dict[str, Any]:
    return queries.get_job(_job_id(job_id), store=runtime.job_store(), s3=runtime.s3_client())


@app.get("/jobs", summary="List jobs, newest first")
def list_jobs(
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    return queries.list_jobs(store=runtime.job_store(), status=status, limit=limit, next_token=next_token)


@app.delete("/jobs/<job_id>", summary="Cancel a job")
def cancel_job(job_id: str) -> dict[str, Any]:
    return queries.cancel_job(
        _job_id(job_id),
        store=runtime.job_store(),
        stepfunctions=runtime.stepfunctions_client(),
        events_client=runtime.events_client(),
        volc=_volc_or_none(),
        settings=runtime.settings(),
        flow=runtime.flow_control(),
    )


@app.post("/uploads", summary="Presigned PUT URLs for a video and a voice track")
def create_uploads(request: UploadRequest | None = None) -> dict[str, Any]:
    request = request or UploadRequest()
    return queries.upload_urls(
        s3=runtime.s3_client(),
        settings=runtime.settings(),
        video_content_type=request.video_content_type,
        audio_content_type=request.audio_content_type,
    )


@app.post("/batches", summary="Start a batch: one job request per line (JSON Lines)")
def create_batch() -> Response[dict[str, Any]]:
    """Validated and recorded here; its jobs start from the manifest this puts under ``jobs/``."""
    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
    settings = runtime.settings()
    text = app.current_event.decoded_body or ""
    batch_id = batches.batch_id_for("api", key or uuid.uuid4().hex)
    batch, _, created = batches.register_batch(
        text, batch_id=batch_id, store=runtime.job_store(), settings=settings
    )
    runtime.s3_client().put_object(
        Bucket=settings.bucket_name, Key=batches.manifest_key(batch_id), Body=text.encode("utf-8")
    )
    return Response(
        status_code=202 if created else 200, content_type=content_types.APPLICATION_JSON, body=batch
    )


@app.get("/batches/<batch_id>", summary="A batch's progress: its jobs by status, its invalid lines")
def get_batch(batch_id: str) -> dict[str, Any]:
    return batches.summary(batches.get_batch(batch_id, store=runtime.job_store()))


@app.exception_handler(batches.BatchNotFoundError)
def batch_not_found(error: batches.BatchNotFoundError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.NOT_FOUND, "no such batch")


def _volc_or_none() -> Any:
    try:
        return runtime.volc_client()
    except Exception:  # cancelling must not depend on the credentials being readable
        logger.warning("no Volcengine client for CVCancelTask")
        return None


@app.exception_handler(RequestRejectedError)
def rejected(error: RequestRejectedError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.BAD_REQUEST, error.reason, errors=error.errors)


@app.exception_handler(JobConflictError)
def conflict(error: JobConflictError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.CONFLICT, str(error))


@app.exception_handler(queries.JobStateConflictError)
def state_conflict(error: queries.JobStateConflictError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.CONFLICT, str(error))


@app.exception_handler(JobNotFoundError)
def not_found(error: JobNotFoundError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.NOT_FOUND, "no such job")


@app.exception_handler(queries.BadPageTokenError)
def bad_token(error: queries.BadPageTokenError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler(json.JSONDecodeError)
def bad_json(error: json.JSONDecodeError) -> Response[dict[str, Any]]:
    return _error(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {error}")


def _document_error(error: DocumentRejectedError) -> Response[dict[str, Any]]:
    too_large = isinstance(error, DocumentTooLargeError)
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_large else HTTPStatus.BAD_REQUEST
    return _error(status, str(error), errors=[{"field": error.field, "message": error.message}])


@app.exception_handler(DocumentRejectedError)
def bad_document(error: DocumentRejectedError) -> Response[dict[str, Any]]:
    return _document_error(error)


@app.exception_handler(RecursionError)
def too_deep(error: RecursionError) -> Response[dict[str, Any]]:
    # Powertools parses the body of the routes it validates (POST /uploads) with json.loads.
    return _document_error(DocumentRejectedError("(body)", "is nested too deeply"))


@app.exception_handler(UnicodeError)
def not_unicode(error: UnicodeError) -> Response[dict[str, Any]]:
    return _document_error(DocumentRejectedError("(body)", "is not valid UTF-8 text"))


@app.not_found
def no_route(error: NotFoundError) -> Response[dict[str, Any]]:
    """405 with ``Allow`` for a known path asked with another method; 404 for an unknown path."""
    path = app.current_event.path
    routes = app._static_routes + app._dynamic_routes  # Powertools keeps no public list
    allowed = sorted({route.method for route in routes if route.rule.match(path)})
    if not allowed:
        return _error(HTTPStatus.NOT_FOUND, "no such resource")
    method = app.current_event.http_method.upper()
    answer = _error(
        HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed here; allowed: {', '.join(allowed)}"
    )
    answer.headers["Allow"] = ", ".join(allowed)
    return answer


@app.exception_handler(Exception)
def internal(error: Exception) -> Response[dict[str, Any]]:
    """Our own failure: a JSON 500 that says nothing of our insides (the log has the details)."""
    logger.exception("unhandled error")
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; retry later")


@app.exception_handler(RequestValidationError)
def invalid_parameters(error: RequestValidationError) -> Response[dict[str, Any]]:
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in error.errors()
    ]
    return _error(HTTPStatus.BAD_REQUEST, "invalid request parameters", errors=errors)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document: Powertools' routes, plus what it cannot see (the job request body,
    which this handler validates itself, JSON errors, and SigV4 authorisation)."""
    from lipsync_core.jobs.schemas import job_request_schema

    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="Lip-sync jobs API",
            version="1.0.0",
            description="Start lip-sync jobs, follow them, cancel them, and get upload URLs. "
            "Every call is signed with AWS SigV4 (IAM authorisation).",
        )
    )
    request_schema = job_request_schema()
    definitions = request_schema.pop("$defs", {})
    request_schema.pop("$schema", None)
    request_schema.pop("$id", None)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions)
    components["JobRequest"] = json.loads(
        json.dumps(request_schema).replace("#/$defs/", "#/components/schemas/")
    )
    components["Error"] = {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    error = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    post = document["paths"]["/jobs"]["post"]
    post["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}},
    }
    post.setdefault("responses", {})["413"] = {**error, "description": "The body is larger than 64 KiB"}
    post["parameters"] = [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 256},
            "description": "The same key and body return the same job; another body is a 409",
        }
    ]
    for path in document["paths"].values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses.update({"400": error, "403": error, "404": error, "409": error})
            operation["security"] = [{"sigv4": []}]
    document["components"]["securitySchemes"] = {
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.pop("ResponseValidationError", None)
    return document
