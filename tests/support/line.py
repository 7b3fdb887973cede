"""A local stack for the line's tests (``tests/e2e/test_line*.py``): synthesized with a context of
their own, the emulator limiting unfinished tasks, and what a test does with it (post jobs, read their
places, hold slots as jobs elsewhere would, count what was paid and announced)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from lipsync.emulator import ServiceConfig
from lipsync.local.runtime import TERMINAL_TYPES, LocalRuntime
from lipsync.local.synth import synthesized_template
from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.volc import Mode

SPEED = 10.0  # the emulator runs tasks this many times faster than the service (about 0.7 s a task)


def runtime(folder: Path, context: dict[str, object], slots: int) -> Iterator[LocalRuntime]:
    """A local stack synthesized with ``context`` (CDK context values), ``slots`` unfinished tasks at the
    emulator (and so in the stack's flow control), and a talking head and a voice in its bucket."""
    template = synthesized_template(context)
    config = ServiceConfig(concurrency=slots)
    with LocalRuntime(template_path=template, emulator_config=config, emulator_speed=SPEED) as local:
        assert local.endpoints
        s3 = local.client("s3")
        bucket = local.endpoints.bucket
        s3.upload_file(
            str(make_talking_head(folder / "f.mp4", seconds=1.0, width=96, height=64)), bucket, "in/f.mp4"
        )
        s3.upload_file(str(make_voice(folder / "v.wav", seconds=1.0)), bucket, "in/v.wav")
        yield local


class Jobs:
    """The API and the flow table of one local stack, as a test uses them."""

    def __init__(self, local: LocalRuntime, slots: int) -> None:
        from lipsync_core.jobs import clients  # configured by the runtime's environment

        assert local.endpoints
        self.local, self.api, self.bucket = local, local.endpoints.api, local.endpoints.bucket
        self.clients = clients
        self.flow = FlowControl(clients.flow_control().table, FlowLimits.uniform(qps=0, max_unfinished=slots))
        self.request = {
            "mode": "lite",
            "video": f"s3://{self.bucket}/in/f.mp4",
            "audio": f"s3://{self.bucket}/in/v.wav",
        }

    def post(self, job_id: str, **fields: Any) -> None:
        """``POST /jobs``: a lite job with the bucket's talking head and voice (and ``fields``)."""
        body = {**self.request, "job_id": job_id, **fields}
        answer = requests.post(f"{self.api}/jobs", json=body, timeout=120)
        assert answer.status_code == 202, answer.text

    def get(self, path: str) -> Any:
        return requests.get(f"{self.api}{path}", timeout=60).json()

    def waiting(self, *job_ids: str) -> dict[str, dict[str, Any]]:
        """The place in the line of each of ``job_ids``, once every one of them is in it."""

        def places() -> dict[str, dict[str, Any]] | None:
            views = {job_id: self.get(f"/jobs/{job_id}") for job_id in job_ids}
            return (
                {j: v["line"] for j, v in views.items()} if all("line" in v for v in views.values()) else None
            )

        return dict(until(places))

    def hold(self, *holders: str) -> None:
        """Hold slots as jobs running elsewhere would: each holder a job on record, unfinished (the
        reconciler's sweep frees slots whose holders have no record, or an ended one)."""
        store = self.clients.job_store()
        for holder in holders:
            store.create(holder, JobRequest.model_validate(self.request))
            assert self.flow.acquire_slot(holder, Mode.LITE)

    def leak(self, *holders: str) -> None:
        """Hold slots for holders no job record backs, as a job whose ending went unnoticed would."""
        for holder in holders:
            assert self.flow.acquire_slot(holder, Mode.LITE)

    def release(self, *holders: str) -> None:
        for holder in holders:
            assert self.flow.release_slot(holder, Mode.LITE)

    def paid(self) -> int:
        return int(self.local.emulator.admin.submissions()["total"])

    def ended(self, job_ids: list[str], timeout: float = 300) -> dict[str, str]:
        return {j: self.local.wait_for_terminal_event(j, timeout=timeout)["detail-type"] for j in job_ids}

    def announced(self, job_id: str) -> int:
        return sum(
            1
            for e in self.local.events()
            if e["detail"].get("job_id") == job_id and e["detail-type"] in TERMINAL_TYPES
        )

    def execution(self, job_id: str) -> str:
        assert self.local.endpoints
        return self.local.endpoints.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"

    def history(self, job_id: str) -> list[dict[str, Any]]:
        assert self.local.stack
        return self.local.stack.history(self.execution(job_id))

    def ended_as(self, job_id: str) -> str:
        """How the job's execution ended, once it has."""
        assert self.local.stack
        return str(self.local.stack.wait(self.execution(job_id), timeout=120)["status"])

    def entered(self, job_id: str, state: str) -> int:
        return sum(
            1 for e in self.history(job_id) if e.get("stateEnteredEventDetails", {}).get("name") == state
        )


def until(predicate: Callable[[], Any], timeout: float = 120) -> Any:
    """The first truthy answer of ``predicate``, asked again until ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (answer := predicate()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)
    return answer
