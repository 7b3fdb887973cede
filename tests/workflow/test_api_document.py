"""The committed OpenAPI document is current, valid, and describes every route the API serves."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from tools.docs import OPENAPI as DOCUMENT
from tools.docs import openapi_document, render_openapi


def test_the_committed_openapi_document_is_current_and_valid() -> None:
    assert DOCUMENT.read_text() == render_openapi(openapi_document()), "run: python -m tools.docs"
    committed = json.loads(DOCUMENT.read_text())
    validate(committed)


def test_it_describes_every_route_with_sigv4() -> None:
    document = json.loads(DOCUMENT.read_text())
    routes = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert routes == {
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/{job_id}"),
        ("DELETE", "/jobs/{job_id}"),
        ("POST", "/uploads"),
        ("GET", "/queue"),
        ("POST", "/batches"),
        ("GET", "/batches/{batch_id}"),
    }
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"sigv4": []}]
    assert document["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobRequest"
    }
