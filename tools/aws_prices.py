"""AWS list prices in US East (N. Virginia), the one price list of this project.

Per-use charges (`per_use_cost`) and fixed monthly charges (`FIXED_MONTHLY`) are kept apart: a job costs
the first, a deployed stack costs the second whether or not it runs a job. Free tiers are left out (they
belong to an account, not to a job). Every price names its source and the day it was checked; other
regions differ by a few percent. Volcengine bills its own work.
"""

from __future__ import annotations

from dataclasses import dataclass

# Step Functions Standard: $0.025 per 1,000 state transitions.
# Source: aws.amazon.com/step-functions/pricing (US East (N. Virginia) $0.0250 per 1,000), checked 2026-12-06.
STATE_TRANSITION_USD = 0.025 / 1_000

# Lambda: $0.20 per million requests; $0.0000166667 per GB-second on x86_64 (first 6 billion GB-s a month).
# Source: aws.amazon.com/lambda/pricing (x86 price, first tier), checked 2026-12-06.
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
LAMBDA_GB_SECOND_USD = 0.0000166667

# DynamoDB on demand, Standard table class, after the November 2024 cut (halved): $0.625 per million write
# request units, $0.125 per million read request units.
# Source: aws.amazon.com/dynamodb/pricing/on-demand, and AWS's "price reduction for on-demand throughput"
# announcement of 2024-11-01; checked 2026-12-06.
DYNAMODB_WRITE_UNIT_USD = 0.625 / 1_000_000
DYNAMODB_READ_UNIT_USD = 0.125 / 1_000_000

# S3 Standard requests: PUT, COPY, POST, LIST $0.005 per 1,000; GET, SELECT and all others (HEAD) $0.0004 per
# 1,000. Source: aws.amazon.com/s3/pricing ("Requests & data retrievals"), checked 2026-12-06.
S3_PUT_REQUEST_USD = 0.005 / 1_000
S3_GET_REQUEST_USD = 0.0004 / 1_000

# EventBridge: custom events put on a bus, $1.00 per million (each 64 KB chunk of an entry is one event).
# Source: aws.amazon.com/eventbridge/pricing ("Event bus", custom events), checked 2026-12-06.
EVENT_USD = 1.00 / 1_000_000

# SQS Standard queues: $0.40 per million requests (each 64 KB chunk of a payload is one request).
# Source: aws.amazon.com/sqs/pricing (Standard queue, first 100 billion requests a month), checked 2026-12-06.
SQS_REQUEST_USD = 0.40 / 1_000_000

# API Gateway REST APIs: $3.50 per million requests (first 333 million a month).
# Source: aws.amazon.com/api-gateway/pricing (REST APIs, US East), checked 2026-12-06.
API_REQUEST_USD = 3.50 / 1_000_000

# CloudWatch Logs: $0.50 per GB ingested (Standard log class; Lambda's and vended logs are tiered from
# the same $0.50 first tier). Source: aws.amazon.com/cloudwatch/pricing ("Logs"), checked 2026-12-06.
LOG_INGESTION_USD_PER_GB = 0.50

# X-Ray: $5.00 per million traces recorded ($0.000005 each).
# Source: aws.amazon.com/xray/pricing, checked 2026-12-06.
XRAY_TRACE_USD = 5.00 / 1_000_000

# Secrets Manager: $0.05 per 10,000 API calls; $0.40 per secret per month.
# Source: aws.amazon.com/secrets-manager/pricing, checked 2026-12-06.
SECRETS_CALL_USD = 0.05 / 10_000
SECRET_MONTHLY_USD = 0.40

# CloudWatch: $0.10 per standard-resolution alarm metric a month; $3.00 per custom dashboard a month.
# Source: aws.amazon.com/cloudwatch/pricing ("Alarms", "Dashboards"), checked 2026-12-06.
ALARM_MONTHLY_USD = 0.10
DASHBOARD_MONTHLY_USD = 3.00

# KMS: $1.00 per customer managed key a month (the alarm topic's key; requests are $0.03 per 10,000).
# Source: aws.amazon.com/kms/pricing, checked 2026-12-06.
KMS_KEY_MONTHLY_USD = 1.00

_GB = 1024**3


@dataclass(frozen=True)
class Usage:
    """What some work used, counted in AWS's billing units."""

    transitions: int = 0
    lambda_requests: int = 0
    lambda_gb_seconds: float = 0.0
    dynamodb_write_units: float = 0.0
    dynamodb_read_units: float = 0.0
    s3_put_requests: int = 0
    s3_get_requests: int = 0
    events_put: int = 0
    sqs_requests: int = 0
    api_requests: int = 0
    log_bytes: int = 0
    xray_traces: int = 0
    secrets_calls: int = 0


def per_use_cost(usage: Usage) -> dict[str, float]:
    """US dollars per line item of ``usage`` at us-east-1 list prices (callers sum what they show)."""
    return {
        "step functions transitions": usage.transitions * STATE_TRANSITION_USD,
        "lambda requests": usage.lambda_requests * LAMBDA_REQUEST_USD,
        "lambda compute": usage.lambda_gb_seconds * LAMBDA_GB_SECOND_USD,
        "dynamodb writes": usage.dynamodb_write_units * DYNAMODB_WRITE_UNIT_USD,
        "dynamodb reads": usage.dynamodb_read_units * DYNAMODB_READ_UNIT_USD,
        "s3 put requests": usage.s3_put_requests * S3_PUT_REQUEST_USD,
        "s3 get requests": usage.s3_get_requests * S3_GET_REQUEST_USD,
        "eventbridge events": usage.events_put * EVENT_USD,
        "sqs requests": usage.sqs_requests * SQS_REQUEST_USD,
        "api requests": usage.api_requests * API_REQUEST_USD,
        "log ingestion": usage.log_bytes / _GB * LOG_INGESTION_USD_PER_GB,
        "x-ray traces": usage.xray_traces * XRAY_TRACE_USD,
        "secrets manager calls": usage.secrets_calls * SECRETS_CALL_USD,
    }


def fixed_monthly(alarms: int, dashboards: int, secrets: int, kms_keys: int) -> dict[str, float]:
    """What a deployed stack costs a month before any job, from the counts of what it holds."""
    return {
        "secrets": secrets * SECRET_MONTHLY_USD,
        "alarms": alarms * ALARM_MONTHLY_USD,
        "dashboards": dashboards * DASHBOARD_MONTHLY_USD,
        "kms keys": kms_keys * KMS_KEY_MONTHLY_USD,
    }


# The default `LipSync` stack: two secrets (Volcengine credentials, webhook signing key), one dashboard,
# one KMS key (the alarm topic's); tests/infra/test_operations.py checks them against the template.
STACK_ALARMS = 32
FIXED_MONTHLY: dict[str, float] = fixed_monthly(alarms=STACK_ALARMS, dashboards=1, secrets=2, kms_keys=1)
