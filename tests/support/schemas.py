"""Validates payloads against the JSON Schemas under ``schemas/``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@cache
def validator(relative: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / relative).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(relative: str, payload: Any) -> None:
    errors = sorted(validator(relative).iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


EVENT_SCHEMAS = {
    "LipSync Job Succeeded": "events/lipsync-job-succeeded.schema.json",
    "LipSync Job Failed": "events/lipsync-job-failed.schema.json",
    "LipSync Job Rejected": "events/lipsync-job-rejected.schema.json",
    "LipSync Job Cancelled": "events/lipsync-job-cancelled.schema.json",
    "LipSync Batch Finished": "events/lipsync-batch-finished.schema.json",
}
