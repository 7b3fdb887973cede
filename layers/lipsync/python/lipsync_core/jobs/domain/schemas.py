"""The job request's JSON Schema, generated from the model (``python -m tools.docs`` rewrites
``schemas/job-request.schema.json``; a test fails when the file is stale)."""

from __future__ import annotations

import json
from typing import Any

from .models import JobRequest

SCHEMA_ID = "https://lipsync.example/schemas/job-request.schema.json"


def job_request_schema() -> dict[str, Any]:
    schema = JobRequest.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
