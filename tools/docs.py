"""Writes the generated documents: ``python -m tools.docs`` (tests fail when they are stale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lipsync.local.stack import load_function_module
from lipsync_core.jobs.domain.schemas import job_request_schema, render

ROOT = Path(__file__).resolve().parent.parent  # the repository: the documents are committed there
OPENAPI = ROOT / "docs" / "openapi.json"
JOB_REQUEST_SCHEMA = ROOT / "schemas" / "job-request.schema.json"
_ERROR = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document: the routes as Powertools sees them in ``functions/api/handler.py``,
    plus what it cannot see (the job request body, which the API validates itself, JSON errors, and
    SigV4 authorisation)."""
    app = load_function_module("api").app
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="Lip-sync jobs API",
            version="1.0.0",
            description="Start lip-sync jobs, follow them, cancel them, and get upload URLs. "
            "Every call is signed with AWS SigV4 (IAM authorisation).",
        )
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(_job_request_components())
    components["Error"] = {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    post = document["paths"]["/jobs"]["post"]
    post["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobRequest"}}},
    }
    post.setdefault("responses", {})["413"] = {**_ERROR, "description": "The body is larger than 64 KiB"}
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
            responses.update({"400": _ERROR, "403": _ERROR, "404": _ERROR, "409": _ERROR})
            operation["security"] = [{"sigv4": []}]
    document["components"]["securitySchemes"] = {
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.pop(unused, None)
    return document


def _job_request_components() -> dict[str, Any]:
    """The job request's schema and its definitions, as OpenAPI components."""
    schema = job_request_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema.pop("$id", None)
    request = json.loads(json.dumps(schema).replace("#/$defs/", "#/components/schemas/"))
    return {**definitions, "JobRequest": request}


def render_openapi(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> None:
    outputs: dict[Path, str] = {
        OPENAPI: render_openapi(openapi_document()),
        JOB_REQUEST_SCHEMA: render(job_request_schema()),
    }
    for path, text in outputs.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
