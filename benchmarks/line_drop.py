"""The drop (issue 18): many jobs posted at once against few slots, with a job deadline shorter than the
drain, through the whole local stack (the emulator enforcing its limits). For each case: the outcomes,
tasks paid per job, state transitions per job over every state machine (and how many of them the wait
in the line took), DynamoDB write units per job, the hand-off latency (a slot released, the next task
submitted), how busy the slots were during the drain, the share of the limits' bound, and the AWS
cost per job at list prices from the counted operations (``tools/aws_prices.py``).

Each case runs in a process of its own (moto's state is process-wide): ``python -m
benchmarks.line_drop`` runs them all, ``--case N`` one of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from benchmarks.job_cost import cost_per_job, ten_minute_job
from lipsync.emulator import ServiceConfig
from lipsync.local.runtime import LocalRuntime
from lipsync.local.synth import synthesized_template
from lipsync.local.usage import INTERNAL
from lipsync.media.samples import make_talking_head, make_voice

VOICE_SECONDS = 1.0
LINE_STATES = ("WaitForAdmission",)  # the states a job passes through while it waits in the line


@dataclass(frozen=True)
class DropCase:
    name: str
    jobs: int
    slots: int  # unfinished tasks the service allows (0: unlimited)
    qps: float  # its requests per second per action (0: unlimited)
    speed: float  # the emulator runs tasks this many times faster than the service
    deadline: int  # the stack's job_deadline_seconds


CASES = [
    # The case: 2 slots, tasks of ~3.5 s, a 60 s deadline; the drain needs ~70 s.
    DropCase("slot-bound drop", 40, slots=2, qps=0, speed=2.0, deadline=60),
    # A burst held back by the submit rate, at a rate this machine keeps up with.
    DropCase("rate-bound burst", 60, slots=3, qps=0.5, speed=20.0, deadline=60),
    # A thousand jobs: 8 slots, tasks of ~3.5 s; the drain needs ~440 s, seven deadlines.
    DropCase("1000-job drop", 1000, slots=8, qps=0, speed=2.0, deadline=60),
]


@dataclass
class DropResult:
    case: DropCase
    outcomes: dict[str, int]
    paid_per_job: float
    polls_per_job: float  # Poll steps per job
    throttled: int  # answers the service throttled
    transitions_per_job: float
    line_transitions_per_job: float
    write_units_per_job: float
    handoff_p50: float | None
    handoff_p95: float | None
    utilisation: float | None  # of the slots, over the drain (slot-bound cases)
    wall_seconds: float
    bound_seconds: float
    cost: dict[str, float]
    copy_memory_mb: int = 256  # CopyResult's, as the template configures it

    @property
    def share(self) -> float:
        return self.bound_seconds / self.wall_seconds

    @property
    def cost_total(self) -> float:
        return sum(self.cost.values())

    @property
    def ten_minute_total(self) -> float:
        return sum(ten_minute_job(self.cost, self.copy_memory_mb).values())

    def line(self) -> str:
        c = self.case
        limits = f"{c.slots} slots" + (f", {c.qps:g} QPS" if c.qps else "")
        outcomes = ", ".join(
            f"{n} {kind.removeprefix('LipSync Job ').lower()}" for kind, n in self.outcomes.items()
        )
        handoff = (
            f"hand-off p50 {self.handoff_p50:.2f} s, p95 {self.handoff_p95:.2f} s; "
            if self.handoff_p50 is not None
            else ""
        )
        busy = f"slots busy {self.utilisation:.0%} of the drain; " if self.utilisation is not None else ""
        return (
            f"{c.name}: {c.jobs} jobs, {limits}, deadline {c.deadline} s: {outcomes}; "
            f"{self.paid_per_job:.2f} paid tasks per job, {self.polls_per_job:.2f} polls, {self.throttled} "
            f"throttled answers; {self.transitions_per_job:.1f} transitions per job "
            f"({self.line_transitions_per_job:.1f} in the line); "
            f"{self.write_units_per_job:.1f} DynamoDB write units per job; {handoff}{busy}"
            f"all ended in {self.wall_seconds:.1f} s against a bound of {self.bound_seconds:.1f} s: "
            f"share {self.share:.2f}; AWS ${self.cost_total:.6f} per job "
            f"(a 10-minute job: ${self.ten_minute_total:.6f})"
        )


def task_seconds(config: ServiceConfig, speed: float) -> float:
    """Real seconds a task is unfinished at the emulator."""
    work = (
        config.queue_seconds
        + config.generating_base_seconds
        + config.generating_per_voice_second * VOICE_SECONDS
    )
    return work / speed


def run(case: DropCase) -> DropResult:
    config = ServiceConfig(qps=case.qps, concurrency=case.slots, render_in_processes=case.jobs > 100)
    template = synthesized_template({"lipsync:job_deadline_seconds": case.deadline})
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalRuntime(template_path=template, emulator_config=config, emulator_speed=case.speed) as runtime,
    ):
        assert runtime.endpoints
        bucket, api = runtime.endpoints.bucket, runtime.endpoints.api
        s3 = runtime.client("s3")
        media = Path(tmp)
        s3.upload_file(
            str(make_talking_head(media / "f.mp4", seconds=1.0, width=96, height=64)), bucket, "in/f.mp4"
        )
        s3.upload_file(str(make_voice(media / "v.wav", seconds=VOICE_SECONDS)), bucket, "in/v.wav")
        request = {"mode": "lite", "video": f"s3://{bucket}/in/f.mp4", "audio": f"s3://{bucket}/in/v.wav"}
        before = runtime.usage()

        def post(index: int) -> str:
            answer = requests.post(f"{api}/jobs", json={**request, "job_id": f"drop-{index}"}, timeout=120)
            answer.raise_for_status()
            return str(answer.json()["job_id"])

        started = time.time()
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(post, range(case.jobs)))
        events = [runtime.wait_for_terminal_event(job_id, timeout=7200) for job_id in ids]
        wall = time.time() - started
        used = runtime.usage()
        paid = runtime.emulator.admin.submissions()["total"]
        polls = poll_steps(runtime)
        throttled = int(runtime.emulator.admin.throttles()["total"])
        busy = runtime.emulator.service.busy_intervals()
        releases = released_at(runtime)
        line_transitions = sum(in_line(runtime, job_id) for job_id in ids)
        assert runtime.stack is not None
        copy_memory = runtime.stack.registry.named("copyresult").memory
    outcomes = Counter(event["detail-type"] for event in events)
    # Hand-offs and utilisation say how fast freed slots are reused: figures of a slot-bound drain only.
    slot_bound = bool(case.slots) and not case.qps
    handoffs = handoff_seconds(releases, [start for start, _ in busy], case.slots) if slot_bound else []
    bound = max(
        case.jobs / case.qps if case.qps else 0.0,
        case.jobs * task_seconds(config, case.speed) / max(1, case.slots),
    )
    return DropResult(
        case=case,
        outcomes=dict(outcomes),
        paid_per_job=paid / case.jobs,
        polls_per_job=polls / case.jobs,
        throttled=throttled,
        transitions_per_job=(used.transitions - before.transitions) / case.jobs,
        line_transitions_per_job=line_transitions / case.jobs,
        write_units_per_job=(used.counted.dynamodb_write_units - before.counted.dynamodb_write_units)
        / case.jobs,
        handoff_p50=_percentile(handoffs, 50),
        handoff_p95=_percentile(handoffs, 95),
        utilisation=utilisation(busy, case.slots) if slot_bound else None,
        wall_seconds=wall,
        bound_seconds=bound,
        cost=cost_per_job(used, before, case.jobs),
        copy_memory_mb=copy_memory,
    )


def poll_steps(runtime: LocalRuntime) -> int:
    """Invocations of the Poll step (each asks the service once, unless it got no rate slot)."""
    assert runtime.stack is not None
    counted = runtime.stack.registry.counted().count
    return sum(n for name, n in counted.items() if name.endswith("poll"))


def in_line(runtime: LocalRuntime, job_id: str) -> int:
    """The transitions a job's wait in the line took (the states it entered while waiting)."""
    assert runtime.stack is not None
    assert runtime.endpoints is not None
    execution = runtime.endpoints.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
    history = runtime.stack.history(execution)
    return sum(1 for e in history if e.get("stateEnteredEventDetails", {}).get("name") in LINE_STATES)


def released_at(runtime: LocalRuntime) -> list[float]:
    """When slots were released (the flow table's stream, read from its start)."""
    import boto3

    assert runtime.endpoints is not None
    dynamodb = runtime.client("dynamodb")
    streams = boto3.client(
        "dynamodbstreams", endpoint_url=runtime.endpoints.aws, region_name="us-east-1", config=INTERNAL
    )
    tables = [t for t in dynamodb.list_tables()["TableNames"] if "FlowControl" in t]
    arn = dynamodb.describe_table(TableName=tables[0])["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    found = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            image = record["dynamodb"].get("NewImage", {})
            if image.get("last_change", {}).get("S") == "release" and record["eventName"] == "MODIFY":
                found.append(float(image["released_at"]["N"]))
        if not page["Records"]:
            return sorted(found)
        iterator = page["NextShardIterator"]


def handoff_seconds(releases: list[float], submissions: list[float], slots: int) -> list[float]:
    """For each release while jobs still waited, the time until the next task was submitted (each
    submission answers one release, in order; the first ``slots`` submissions answered none)."""
    waiting = sorted(submissions)[slots:] if slots else []
    handoffs, index = [], 0
    for release in releases:
        while index < len(waiting) and waiting[index] < release:
            index += 1
        if index == len(waiting):
            break
        handoffs.append(waiting[index] - release)
        index += 1
    return handoffs


def utilisation(busy: list[tuple[float, float]], slots: int) -> float:
    """The share of slot time the service spent on tasks, from the first submission to the last end."""
    start, end = min(s for s, _ in busy), max(e for _, e in busy)
    return sum(e - s for s, e in busy) / (slots * (end - start))


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def measure(index: int) -> DropResult:
    """One case, in a process of its own."""
    args = [sys.executable, "-m", "benchmarks.line_drop", "--case", str(index), "--json"]
    out = subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603 - our interpreter
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    return DropResult(**{**raw, "case": DropCase(**raw["case"])})


def main(indexes: list[int] | None = None) -> list[DropResult]:
    results = []
    for index in indexes if indexes is not None else range(len(CASES)):
        result = measure(index)
        print(result.line(), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", type=int, help="run this case here (an index into CASES)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    arguments = parser.parse_args()
    if arguments.case is None:
        main()
    else:
        result = run(CASES[arguments.case])
        print(json.dumps(asdict(result)) if arguments.json else result.line())
