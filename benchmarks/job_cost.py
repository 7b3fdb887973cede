"""What a job costs on AWS, one model for every benchmark that prices jobs (this one, the drop's), at
list prices (``tools/aws_prices.py``, the one price list).

Counted by the local runtime (``LocalRuntime.usage``): state transitions (from the executions' histories),
Lambda invocations and their billed GB-seconds (durations measured here, at each function's configured
memory), DynamoDB read and write units (AWS's rules, ``lipsync.local.usage``), S3, EventBridge, SQS and
Secrets Manager requests as moto received them, API requests (the API function's invocations).
Estimated from those counts: log bytes (the state machine logs every history event at level ALL, about
``SFN_LOG_EVENT_BYTES`` each; each invocation writes Lambda's START, END and REPORT lines and our
Powertools lines, about ``LAMBDA_LOG_BYTES``) and X-Ray traces (an upper bound: one per execution and
per invocation that starts a trace; sampling records fewer). Data transfer and the fixed monthly charges
(``FIXED_MONTHLY``) are not per job.

``main`` runs a few jobs through the local pipeline (tasks of seconds: one poll each) and derives the two
ends of a 10-minute task: polled as ``PollPolicy`` polls when nothing is known of the task's length (its
further polls added), and polled once at the end the line has learned, with the copy of a 10-minute
result added (``ten_minute_job``, as the drop prices its jobs).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import requests

from benchmarks.poll_cost import adaptive
from lipsync.local.runtime import LocalRuntime
from lipsync.local.usage import LocalUsage
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.domain.poll_policy import PollPolicy
from lipsync_core.jobs.domain.settings import Settings
from tools.aws_prices import FIXED_MONTHLY, Usage, per_use_cost

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
# A poll turn: Wait, Poll and TaskStatus entered (three transitions), nine history events (each logged),
# one invocation, the record's update and the rate slot (two writes) and the job's read.
POLL_TRANSITIONS = 3
POLL_HISTORY_EVENTS = 9
POLL_WRITE_UNITS = 2
POLL_READ_UNITS = 1
JOBS = 5
TASK_MINUTES = 10


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


def plus(costs: Mapping[str, float], usage: Usage) -> dict[str, float]:
    """``costs`` (US dollars per line item) with what ``usage`` costs added."""
    extra = per_use_cost(usage)
    return {item: usd + extra[item] for item, usd in costs.items()}


def poll_turns(polls: int, gb_seconds_per_poll: float) -> Usage:
    """What ``polls`` further poll turns use (their invocations are traced by the execution's trace)."""
    return Usage(
        transitions=POLL_TRANSITIONS * polls,
        lambda_requests=polls,
        lambda_gb_seconds=polls * gb_seconds_per_poll,
        dynamodb_write_units=POLL_WRITE_UNITS * polls,
        dynamodb_read_units=POLL_READ_UNITS * polls,
        log_bytes=polls * (POLL_HISTORY_EVENTS * SFN_LOG_EVENT_BYTES + LAMBDA_LOG_BYTES),
    )


# A 10-minute job differs from the drop's 1-second jobs in what its result weighs: CopyResult streams it
# in more parts and for longer. Its polls do not grow with its length: the first poll aims at the end
# the mode's recent tasks predict. Assumed here: a 10-minute result of about 150 MB (720p H.264 at about
# 2 Mbit/s), copied at 50 MB/s (the copy ran at 98 MB/s over localhost; the service's CDN is farther).
TEN_MINUTE_RESULT_BYTES = 150 * 10**6
COPY_BYTES_PER_SECOND = 50 * 10**6


def ten_minute_result(copy_memory_mb: int) -> Usage:
    """What copying a 10-minute result uses beyond a result of one part (CopyResult at ``copy_memory_mb``)."""
    parts = math.ceil(TEN_MINUTE_RESULT_BYTES / Settings.model_fields["copy_part_bytes"].default)
    copying = TEN_MINUTE_RESULT_BYTES / COPY_BYTES_PER_SECOND * copy_memory_mb / 1024
    return Usage(s3_put_requests=parts - 1, lambda_gb_seconds=copying)


def ten_minute_job(per_job: Mapping[str, float], copy_memory_mb: int) -> dict[str, float]:
    """US dollars per line item for a 10-minute job: what a job of seconds cost (``per_job``, its result
    one part), plus the further parts and copy time of a 10-minute result."""
    return plus(per_job, ten_minute_result(copy_memory_mb))


def combined(*usages: Usage) -> Usage:
    return Usage(**{f.name: sum(getattr(u, f.name) for u in usages) for f in fields(Usage)})


def times(usage: Usage, n: int) -> Usage:
    return Usage(**{f.name: getattr(usage, f.name) * n for f in fields(Usage)})


def per_job_usage(usage: Usage, jobs: int) -> str:
    """``usage`` of ``jobs`` jobs, per job, in the README's units."""
    each = {f.name: getattr(usage, f.name) / jobs for f in fields(Usage)}
    return (
        f"{each['transitions']:.1f} transitions; Lambda {each['lambda_requests']:.1f} requests, "
        f"{each['lambda_gb_seconds']:.2f} GB-s; DynamoDB {each['dynamodb_write_units']:.1f} write units, "
        f"{each['dynamodb_read_units']:.1f} read units; S3 {each['s3_put_requests']:.1f} PUT, "
        f"{each['s3_get_requests']:.1f} GET; {each['events_put']:.1f} events, {each['api_requests']:.1f} "
        f"API requests; logs {each['log_bytes'] / 1000:.1f} KB, {each['xray_traces']:.1f} traces"
    )


def measure(jobs: int = JOBS) -> tuple[Usage, int, float, int]:
    """What ``jobs`` jobs through the API used in all, their poll turns, the GB-seconds of an average
    invocation (what one more poll adds, about) and CopyResult's memory."""
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime() as runtime:
        assert runtime.endpoints
        assert runtime.stack
        media = Path(tmp)
        make_talking_head(media / "face.mp4", seconds=1.0, width=160, height=120)
        make_voice(media / "voice.wav", seconds=2.0)
        bucket, s3 = runtime.endpoints.bucket, runtime.client("s3")
        for name in ("face.mp4", "voice.wav"):
            s3.upload_file(str(media / name), bucket, f"inputs/{name}")
        request = {
            "mode": "lite",
            "video": f"s3://{bucket}/inputs/face.mp4",
            "audio": f"s3://{bucket}/inputs/voice.wav",
        }
        before = runtime.usage()
        for _ in range(jobs):
            answer = requests.post(f"{runtime.endpoints.api}/jobs", json=request, timeout=60)
            runtime.wait_for_terminal_event(str(answer.json()["job_id"]), timeout=300)
        after = runtime.usage()
        copy_memory = runtime.stack.registry.named("copyresult").memory
    invocations = after.invocations.minus(before.invocations)
    polls = sum(n for name, n in invocations.count.items() if name.endswith("poll"))
    average = invocations.gb_seconds / max(1, invocations.count.total())
    return usage_between(before, after), polls, average, copy_memory


def show(title: str, usage: Usage, jobs: int) -> None:
    costs = {item: usd / jobs for item, usd in per_use_cost(usage).items()}
    print(f"job cost: {title}: ${sum(costs.values()):.6f}")
    print(f"job cost:   {per_job_usage(usage, jobs)}")
    for item, usd in costs.items():
        if usd:
            print(f"job cost:   {item:<28} ${usd:.7f}")


def main() -> None:
    total, polls, poll_gb_seconds, copy_memory = measure()
    print(f"job cost: {polls / JOBS:.1f} polls per job, {poll_gb_seconds:.4f} GB-s an invocation")
    show("per job measured (a task of seconds)", total, JOBS)
    copies = times(ten_minute_result(copy_memory), JOBS)
    unknown, _ = adaptive(TASK_MINUTES * 60, PollPolicy())
    further = poll_turns(max(0, unknown * JOBS - polls), poll_gb_seconds)
    show(
        f"per {TASK_MINUTES}-minute job, its length unknown ({unknown} polls) and its result copied",
        combined(total, further, copies),
        JOBS,
    )
    show(
        f"per {TASK_MINUTES}-minute job, its end learned (polled as measured) and its result copied",
        combined(total, copies),
        JOBS,
    )
    print(
        "job cost: fixed monthly, whether or not a job runs: "
        + ", ".join(f"{k} ${v:.2f}" for k, v in FIXED_MONTHLY.items())
        + f"; total ${sum(FIXED_MONTHLY.values()):.2f}"
    )


if __name__ == "__main__":
    main()
