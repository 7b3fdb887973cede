"""The line's bound end to end: a job that waits in the line past ``max_queue_seconds`` (2 s here: a
stack synthesized for it) ends FAILED with a reason that names the line, unpaid, announced once. A
module of its own, since each module's local stack starts from an empty moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lipsync.local.runtime import LocalRuntime
from lipsync_core.volc import Mode
from tests.support.line import Jobs, runtime

pytestmark = [pytest.mark.xdist_group("e2e-line"), pytest.mark.slow]


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    yield from runtime(tmp_path_factory.mktemp("bounded"), {"lipsync:max_queue_seconds": 2}, slots=1)


def test_a_job_that_waits_past_the_lines_bound_fails_unpaid(bounded: LocalRuntime) -> None:
    jobs = Jobs(bounded, slots=1)
    jobs.hold("elsewhere")
    jobs.post("too-long")
    jobs.waiting("too-long")
    event = bounded.wait_for_terminal_event("too-long", timeout=120)
    assert event["detail-type"] == "LipSync Job Failed"
    error = event["detail"]["error"]
    assert error["name"] == "JobQueueTimeoutError"
    assert "in the line" in error["message"]
    assert "nothing was paid" in error["message"]
    assert jobs.paid() == 0
    record = jobs.get("/jobs/too-long")
    assert (record["status"], record["attempt"], "line" in record) == ("FAILED", 0, False)
    assert jobs.announced("too-long") == 1
    assert [m["waiting"] for m in jobs.get("/queue")["modes"]] == [0, 0]  # out of the line
    jobs.release("elsewhere")  # the job that timed out held no slot
    assert jobs.flow.holders(Mode.LITE) == {}
