"""Writes the generated documents: ``python -m lipsync.docs`` (tests fail when they are stale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lipsync.local.stack import ROOT, load_function_module
from lipsync_core.jobs.schemas import job_request_schema, render

OPENAPI = ROOT / "docs" / "openapi.json"
JOB_REQUEST_SCHEMA = ROOT / "schemas" / "job-request.schema.json"


def openapi_document() -> dict[str, Any]:
    return dict(load_function_module("api").openapi_document())


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
