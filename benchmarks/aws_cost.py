"""What the local stack's counted operations cost on AWS per job, at list prices (``tools/aws_prices.py``).

Counted: state transitions (from the executions' histories), Lambda invocations and their billed
GB-seconds (durations measured here, at each function's configured memory), DynamoDB read and write
units, S3, EventBridge, SQS and Secrets Manager requests as moto received them, API requests (the API
function's invocations). Estimated from those counts: log bytes (the state machine logs every history
event at level ALL, about ``SFN_LOG_EVENT_BYTES`` each; each invocation writes Lambda's START, END and
REPORT lines and our Powertools lines, about ``LAMBDA_LOG_BYTES``) and X-Ray traces (an upper bound:
one per execution and per invocation that starts a trace; sampling records fewer). Data transfer and
the fixed monthly charges (``FIXED_MONTHLY``) are not per job.
"""

from __future__ import annotations

import math

from lipsync.local.usage import LocalUsage
from lipsync_core.jobs.domain.settings import Settings
from tools.aws_prices import Usage, per_use_cost

SFN_LOG_EVENT_BYTES = 350
LAMBDA_LOG_BYTES = 1200
# S3's request classes (aws.amazon.com/s3/pricing): PUT, COPY, POST, LIST at one price; GET and the rest.
S3_PUT_CLASS = {
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListMultipartUploads",
    "ListParts",
}
S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
# Functions a state machine invokes: their invocations join the execution's trace.
TRACED_BY_EXECUTION = ("submit", "poll", "copyresult", "recordfailure")


def usage_between(before: LocalUsage, after: LocalUsage) -> Usage:
    counted = after.counted.minus(before.counted)
    invocations = after.invocations.minus(before.invocations)
    s3 = {op: n for (service, op), n in counted.requests.items() if service == "s3"}
    api = sum(n for name, n in invocations.count.items() if name.endswith("api"))
    lambda_requests = sum(invocations.count.values())
    own_traces = sum(
        n for name, n in invocations.count.items() if not name.lower().endswith(TRACED_BY_EXECUTION)
    )
    executions = after.executions - before.executions
    history_events = after.history_events - before.history_events
    return Usage(
        transitions=after.transitions - before.transitions,
        lambda_requests=lambda_requests,
        lambda_gb_seconds=invocations.gb_seconds,
        dynamodb_write_units=counted.dynamodb_write_units,
        dynamodb_read_units=counted.dynamodb_read_units,
        s3_put_requests=sum(n for op, n in s3.items() if op in S3_PUT_CLASS),
        s3_get_requests=sum(n for op, n in s3.items() if op not in S3_PUT_CLASS | S3_FREE),
        events_put=counted.count("events", "PutEvents"),
        sqs_requests=counted.count("sqs"),
        api_requests=api,
        log_bytes=history_events * SFN_LOG_EVENT_BYTES + lambda_requests * LAMBDA_LOG_BYTES,
        xray_traces=executions + own_traces,
        secrets_calls=counted.count("secretsmanager"),
    )


def cost_per_job(after: LocalUsage, before: LocalUsage, jobs: int) -> dict[str, float]:
    """US dollars per job, per line item, for what the stack used between ``before`` and ``after``."""
    return {item: usd / jobs for item, usd in per_use_cost(usage_between(before, after)).items()}


# A 10-minute job differs from the drop's 1-second jobs in what its result weighs: CopyResult streams it
# in more parts and for longer. Its polls do not grow with its length: the first poll aims at the end
# the mode's recent tasks predict. Assumed here: a 10-minute result of about 150 MB (720p H.264 at about
# 2 Mbit/s), copied at 50 MB/s (the copy ran at 98 MB/s over localhost; the service's CDN is farther).
TEN_MINUTE_RESULT_BYTES = 150 * 10**6
COPY_BYTES_PER_SECOND = 50 * 10**6


def ten_minute_job(per_job: dict[str, float], copy_memory_mb: int) -> dict[str, float]:
    """US dollars per line item for a 10-minute job: what a job of the drop cost (``per_job``, its result
    one part), plus the further parts and copy time of a 10-minute result (CopyResult at
    ``copy_memory_mb``)."""
    parts = math.ceil(TEN_MINUTE_RESULT_BYTES / Settings.model_fields["copy_part_bytes"].default)
    copying = TEN_MINUTE_RESULT_BYTES / COPY_BYTES_PER_SECOND * copy_memory_mb / 1024
    extra = per_use_cost(Usage(s3_put_requests=parts - 1, lambda_gb_seconds=copying))
    return {item: usd + extra[item] for item, usd in per_job.items()}
