"""DynamoDB's conventions, shared by the stores: numbers as Decimals, and the conditional-write miss."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def to_dynamo(value: Any) -> Any:
    """Floats become Decimals, as DynamoDB wants."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """Decimals become ints or floats again."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def conditional_failed(error: ClientError) -> bool:
    """Whether ``error`` is a condition that did not hold (not a fault)."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
