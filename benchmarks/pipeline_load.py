"""Many jobs at once through the local pipeline: every job ends in exactly one terminal event, each
paid for once, and jobs per second on this machine. The baseline is the same pipeline as it was
before issue 12 (moto's per-request work not cached, renders in the emulator's threads), run here
in the same way; each run is a process of its own (moto's state is process-wide)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from benchmarks.report import Row
from lipsync.emulator import ServiceConfig
from lipsync.local import moto_caches
from lipsync.local.runtime import LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_client.client import BUSY

POST_ATTEMPTS = 8  # a busy answer is asked again, with the same key, up to this many times in all

SIZES = (50, 100, 200)
BASELINE_SIZE = 200


def run(jobs: int, *, baseline: bool) -> dict[str, Any]:
    if baseline:
        moto_caches.caches = list  # no caches: moto as it is
    config = ServiceConfig(render_in_processes=not baseline)
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime(emulator_config=config) as runtime:
        assert runtime.endpoints
        media = Path(tmp)
        make_talking_head(media / "face.mp4", seconds=1.0, width=160, height=120)
        make_voice(media / "voice.wav", seconds=2.0)
        bucket = runtime.endpoints.bucket
        s3 = runtime.client("s3")
        s3.upload_file(str(media / "face.mp4"), bucket, "inputs/face.mp4")
        s3.upload_file(str(media / "voice.wav"), bucket, "inputs/voice.wav")
        request = {
            "mode": "lite",
            "video": f"s3://{bucket}/inputs/face.mp4",
            "audio": f"s3://{bucket}/inputs/voice.wav",
        }
        api = runtime.endpoints.api

        retried: list[int] = []

        def start(index: int) -> str:
            """As a polite client does: a busy answer (the API's 29 s passed while the one machine ran
            every function) is asked again with the same Idempotency-Key, which returns the same job."""
            headers = {"Idempotency-Key": f"load-{index}"}
            for attempt in range(POST_ATTEMPTS):
                answer = requests.post(f"{api}/jobs", json=request, timeout=60, headers=headers)
                if answer.status_code not in BUSY:
                    break
                retried.append(index)
                time.sleep(min(30.0, 2.0 * 2**attempt))  # a client backing off, not a synchronisation
            answer.raise_for_status()
            return str(answer.json()["job_id"])

        started, cpu = time.monotonic(), time.process_time()
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(start, range(jobs)))
        accepted = time.monotonic() - started
        terminal = [runtime.wait_for_terminal_event(job_id, timeout=900) for job_id in ids]
        outcomes = [event["detail-type"] for event in terminal]
        failures = sorted(
            {
                json.dumps(e["detail"].get("error"))[:300]
                for e in terminal
                if "Succeeded" not in e["detail-type"]
            }
        )
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        events = [e for e in runtime.events() if e["detail"].get("job_id") in set(ids)]
        paid = runtime.emulator.admin.submissions()["total"]
    return {
        "jobs": jobs,
        "accepted": accepted,
        "elapsed": elapsed,
        "cpu": cpu,
        "succeeded": outcomes.count("LipSync Job Succeeded"),
        "events": len(events),
        "paid": paid,
        "distinct": len(set(ids)),
        "retried": len(retried),
        "failures": failures,
    }


def measure(jobs: int, *, baseline: bool = False) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.pipeline_load", str(jobs)] + (
        ["--baseline"] if baseline else []
    )
    out = subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603 - our interpreter
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    for failure in result.pop("failures"):
        print(f"pipeline: a job of {jobs} failed: {failure}")
    return result


def main() -> list[Row]:
    before = measure(BASELINE_SIZE, baseline=True)
    rows = []
    for jobs in SIZES:
        after = measure(jobs)
        print(
            f"pipeline: {jobs} concurrent jobs accepted in {after['accepted']:.1f} s, all ended in "
            f"{after['elapsed']:.1f} s ({after['cpu'] / after['elapsed']:.2f} cores of this process); "
            f"{after['succeeded']} succeeded, {after['events']} terminal events and {after['paid']} paid "
            f"tasks for {after['distinct']} jobs ({after['retried']} requests asked again after a busy "
            "answer)"
        )
        rows.append(
            Row(
                f"local pipeline, {jobs} concurrent jobs",
                jobs / after["elapsed"],
                BASELINE_SIZE / before["elapsed"] if jobs == BASELINE_SIZE else None,
                "jobs/s",
                ">= 2x before" if jobs == BASELINE_SIZE else "-",
                (lambda o, b: b is not None and o >= 2 * b) if jobs == BASELINE_SIZE else None,
            )
        )
    print(
        f"pipeline, before: {BASELINE_SIZE} jobs ended in {before['elapsed']:.1f} s "
        f"({before['cpu'] / before['elapsed']:.2f} cores of this process; {before['retried']} requests asked "
        "again after a busy answer)"
    )
    return rows


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]), baseline="--baseline" in sys.argv)))
