"""Bursts of jobs against the service's limits (the emulator enforcing a QPS per action and a number
of unfinished tasks): every job's outcome, paid tasks per job, the throttled answers the service
gave, state transitions per job, and the wall time against the bound the limits set.

The bound is the larger of the jobs divided by the submit rate and the total task time divided by
the number of tasks the service runs at once; the throughput share is the bound over the wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from lipsync.emulator import ServiceConfig
from lipsync.local.runtime import EMULATOR_SPEED, LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice

VOICE_SECONDS = 1.0
# (jobs, requests per second per action, unfinished tasks). The local pipeline itself (one process)
# runs about one job a second on this machine, so at 2 QPS it, not the limits, sets the pace; the last
# case is slow enough for the limits to set it.
CASES = [(200, 2.0, 5), (1000, 2.0, 10), (60, 0.5, 3)]


@dataclass
class Burst:
    jobs: int
    qps: float
    unfinished: int
    outcomes: Counter[str]
    paid_per_job: float
    throttled: dict[str, Any]
    transitions: list[int]
    accepted_seconds: float
    wall_seconds: float
    bound_seconds: float

    @property
    def share(self) -> float:
        return self.bound_seconds / self.wall_seconds

    def line(self) -> str:
        outcomes = ", ".join(
            f"{n} {kind.removeprefix('LipSync Job ').lower()}" for kind, n in self.outcomes.items()
        )
        return (
            f"provider limits: {self.jobs} jobs at {self.qps:g} QPS and {self.unfinished} unfinished tasks: "
            f"{outcomes}; {self.paid_per_job:.2f} paid tasks per job; "
            f"{self.throttled['total']} throttled answers {self.throttled['by_action']}; "
            f"state transitions per job: median {statistics.median(self.transitions):.0f}, "
            f"max {max(self.transitions)}; accepted in {self.accepted_seconds:.1f} s, all ended in "
            f"{self.wall_seconds:.1f} s against a bound of {self.bound_seconds:.1f} s: "
            f"throughput share {self.share:.2f}"
        )


def burst(jobs: int, qps: float, unfinished: int) -> Burst:
    config = ServiceConfig(qps=qps, concurrency=unfinished)
    task_seconds = (
        config.queue_seconds
        + config.generating_base_seconds
        + config.generating_per_voice_second * VOICE_SECONDS
    ) / EMULATOR_SPEED
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime(emulator_config=config) as runtime:
        assert runtime.endpoints
        media = Path(tmp)
        bucket = runtime.endpoints.bucket
        s3 = runtime.client("s3")
        s3.upload_file(
            str(make_talking_head(media / "f.mp4", seconds=1.0, width=96, height=64)), bucket, "in/f.mp4"
        )
        s3.upload_file(str(make_voice(media / "v.wav", seconds=VOICE_SECONDS)), bucket, "in/v.wav")
        request = {"mode": "lite", "video": f"s3://{bucket}/in/f.mp4", "audio": f"s3://{bucket}/in/v.wav"}
        api = runtime.endpoints.api

        def start(index: int) -> str:
            answer = requests.post(f"{api}/jobs", json={**request, "job_id": f"burst-{index}"}, timeout=120)
            return str(answer.json()["job_id"])

        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(start, range(jobs)))
        accepted = time.monotonic() - started
        outcomes = Counter(runtime.wait_for_terminal_event(i, timeout=3600)["detail-type"] for i in ids)
        wall = time.monotonic() - started
        stepfunctions = runtime.client("stepfunctions")
        executions = runtime.endpoints.state_machine_arn.replace(":stateMachine:", ":execution:")
        transitions = []
        for job_id in ids:
            history = stepfunctions.get_execution_history(
                executionArn=f"{executions}:{job_id}", maxResults=1000
            )
            transitions.append(sum(1 for e in history["events"] if e["type"].endswith("StateEntered")))
        paid = runtime.emulator.admin.submissions()["total"]
        throttled = runtime.emulator.admin.throttles()
    # The limits' bound (0: unlimited, which bounds nothing but the task time itself).
    bound = max(jobs / qps if qps else 0, jobs * task_seconds / unfinished if unfinished else task_seconds)
    return Burst(jobs, qps, unfinished, outcomes, paid / jobs, throttled, transitions, accepted, wall, bound)


def main(cases: list[tuple[int, float, int]] = CASES) -> list[Burst]:
    results = []
    for jobs, qps, unfinished in cases:
        result = burst(jobs, qps, unfinished)
        print(result.line(), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, help="one burst of this many jobs instead of the default cases")
    parser.add_argument("--qps", type=float, default=2.0)
    parser.add_argument("--unfinished", type=int, default=5)
    arguments = parser.parse_args()
    main([(arguments.jobs, arguments.qps, arguments.unfinished)] if arguments.jobs else CASES)
