"""Many jobs at once through the local pipeline: every job ends in exactly one terminal event, each
paid for once, and how long the batch takes on this machine."""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from lipsync.local.runtime import LocalRuntime
from lipsync.samples import make_talking_head, make_voice

JOBS = 100


def main(jobs: int = JOBS) -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalRuntime() as runtime:
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

        def start(index: int) -> str:
            headers = {"Idempotency-Key": f"load-{index}"}
            return str(
                requests.post(f"{api}/jobs", json=request, timeout=60, headers=headers).json()["job_id"]
            )

        started = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(start, range(jobs)))
        accepted = time.monotonic() - started
        outcomes = [runtime.wait_for_terminal_event(job_id, timeout=600)["detail-type"] for job_id in ids]
        elapsed = time.monotonic() - started
        events = [e for e in runtime.events() if e["detail"].get("job_id") in set(ids)]
        paid = runtime.emulator.admin.submissions()["total"]
    succeeded = outcomes.count("LipSync Job Succeeded")
    print(
        f"pipeline: {jobs} concurrent jobs accepted in {accepted:.1f} s, all ended in {elapsed:.1f} s; "
        f"{succeeded} succeeded, {len(events)} terminal events and {paid} paid tasks for {len(set(ids))} jobs"
    )


if __name__ == "__main__":
    main()
