"""What one job costs on AWS, from what the local pipeline measured running a few: state transitions
(from the executions' histories), Lambda requests and GB-seconds (each invocation's memory times its
local duration), and every AWS call the stack's roles made (counted by the local IAM gate, by IAM
action), priced at us-east-1 list prices (``tools/aws_prices.py``); the stack's fixed monthly charges
apart. DynamoDB requests are priced at one request unit each (items under 1 KB; a job's record is a
few KB, so its writes cost up to a few units each: the figure is a floor); CloudWatch Logs and X-Ray
are estimated (a few log lines per invocation, one trace per invocation)."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import requests

from benchmarks.poll_cost import adaptive
from lipsync.local.runtime import LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.domain.poll_policy import PollPolicy
from tools.aws_prices import FIXED_MONTHLY, Usage, per_use_cost

JOBS = 5
TASK_MINUTES = 10  # a typical task: the extra polls it needs are added to the measured job
LOG_BYTES_PER_INVOCATION = 2_000  # Powertools' structured lines, START/END/REPORT
DYNAMODB_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
DYNAMODB_READS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
S3_PUTS = {"s3:PutObject", "s3:ListBucket"}
S3_GETS = {"s3:GetObject", "s3:GetObjectVersion"}


def measure(jobs: int = JOBS) -> tuple[Usage, Counter[str], float]:
    """Usage per job (averaged over ``jobs`` jobs through the API), the calls by IAM action, and the
    GB-seconds of an average invocation (what one more poll adds)."""
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime() as runtime:
        assert runtime.endpoints
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
        ids = []
        for _ in range(jobs):
            answer = requests.post(f"{runtime.endpoints.api}/jobs", json=request, timeout=60)
            ids.append(str(answer.json()["job_id"]))
            runtime.wait_for_terminal_event(ids[-1], timeout=300)
        stepfunctions = runtime.client("stepfunctions")
        executions = runtime.endpoints.state_machine_arn.replace(":stateMachine:", ":execution:")
        transitions = 0
        for job_id in ids:
            history = stepfunctions.get_execution_history(
                executionArn=f"{executions}:{job_id}", maxResults=1000
            )
            transitions += sum(1 for e in history["events"] if e["type"].endswith("StateEntered"))
        assert runtime.stack is not None
        invocations = runtime.stack.registry.counted()
        calls = Counter(runtime.gate.calls)
    per_job = {action: count / jobs for action, count in calls.items()}
    usage = Usage(
        transitions=round(transitions / jobs),
        lambda_requests=round(invocations.count.total() / jobs),
        lambda_gb_seconds=invocations.gb_seconds / jobs,
        dynamodb_write_units=sum(v for a, v in per_job.items() if a in DYNAMODB_WRITES),
        dynamodb_read_units=sum(v for a, v in per_job.items() if a in DYNAMODB_READS),
        s3_put_requests=round(sum(v for a, v in per_job.items() if a in S3_PUTS)),
        s3_get_requests=round(sum(v for a, v in per_job.items() if a in S3_GETS)),
        events_put=round(per_job.get("events:PutEvents", 0)),
        api_requests=1,
        log_bytes=round(invocations.count.total() / jobs * LOG_BYTES_PER_INVOCATION),
        xray_traces=round(invocations.count.total() / jobs),
        secrets_calls=round(per_job.get("secretsmanager:GetSecretValue", 0)),
    )
    average = invocations.gb_seconds / max(1, invocations.count.total())  # a poll: about an average step
    return usage, Counter({a: round(v, 1) for a, v in per_job.items()}), average


def with_polls(usage: Usage, polls: int, poll_gb_seconds: float) -> Usage:
    """``usage`` plus ``polls`` more checks: each a Wait, a Poll and a Choice (three transitions), one
    invocation, and the poll's record update and rate slot (two writes, one read)."""
    return replace(
        usage,
        transitions=usage.transitions + 3 * polls,
        lambda_requests=usage.lambda_requests + polls,
        lambda_gb_seconds=usage.lambda_gb_seconds + polls * poll_gb_seconds,
        dynamodb_write_units=usage.dynamodb_write_units + 2 * polls,
        dynamodb_read_units=usage.dynamodb_read_units + polls,
        log_bytes=usage.log_bytes + polls * LOG_BYTES_PER_INVOCATION,
        xray_traces=usage.xray_traces + polls,
        secrets_calls=usage.secrets_calls,
    )


def main() -> None:
    measured, calls, poll_gb_seconds = measure()
    polls, _ = adaptive(TASK_MINUTES * 60, PollPolicy())
    usage = with_polls(measured, polls - 1, poll_gb_seconds)  # the measured job polled once
    print(f"job cost: measured (a task of seconds, one poll): ${sum(per_use_cost(measured).values()):.6f}")
    print(f"job cost: a {TASK_MINUTES}-minute task, {polls} polls (PollPolicy)")
    costs = per_use_cost(usage)
    print(f"job cost: one job, {JOBS} measured: {usage}")
    print(
        "job cost: AWS calls per job by IAM action: "
        + ", ".join(f"{a} {v:g}" for a, v in sorted(calls.items()))
    )
    for item, usd in costs.items():
        print(f"job cost:   {item:<24} ${usd:.7f}")
    print(f"job cost: total per job ${sum(costs.values()):.6f} (us-east-1 list prices; plus Volcengine)")
    print(
        "job cost: fixed monthly, whether or not a job runs: "
        + ", ".join(f"{k} ${v:.2f}" for k, v in FIXED_MONTHLY.items())
        + f"; total ${sum(FIXED_MONTHLY.values()):.2f}"
    )


if __name__ == "__main__":
    main()
