"""A segmented job's segments end with it, whoever ends it: its execution's end (the reconciler), or a
sweep that finds a segment still holding a slot after its job ended. Nothing a job left keeps capacity
from the jobs behind it."""

from __future__ import annotations

from typing import Any

import boto3

from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.flow_limits import FlowLimits
from lipsync_core.jobs.domain.models import JobRequest, PreparedInputs
from lipsync_core.jobs.domain.segmenting import SegmentPlan, parent_of, segment_id
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.steps.reconcile import Reconciler
from lipsync_core.volc import Mode

REQUEST = {"mode": "lite", "video": "https://example.com/v.mp4", "audio": "https://example.com/a.wav"}


def segmented_job(store: JobStore, job_id: str, segments: int) -> list[str]:
    """A job whose plan names ``segments`` segments, each recorded (as Prepare records them)."""
    request = JobRequest.model_validate(REQUEST)
    store.create(job_id, request)
    ids = [segment_id(job_id, n) for n in range(segments)]
    for child in ids:
        store.create(child, request, source="segment", parent=job_id)
    plan = SegmentPlan(
        fps="25",
        voice_seconds=10.0 * segments,
        max_seconds=10.0,
        voice_key=f"prepared/{job_id}/segments/voice",
        segments=[
            {
                "index": n,
                "job_id": child,
                "first_frame": 250 * n,
                "end_frame": 250 * (n + 1),
                "at_pause": True,
            }
            for n, child in enumerate(ids)
        ],
    )
    probe = {"probe": {}, "input": {"url": "https://example.com/v.mp4"}}
    assert store.record_inputs(
        job_id, PreparedInputs.model_validate({"video": probe, "audio": probe, "segments": plan})
    )
    return ids


def reconciler(store: JobStore, flow: FlowControl) -> Reconciler:
    return Reconciler(
        store=store,
        flow=flow,
        events_client=boto3.client("events", region_name="us-east-1"),
        stepfunctions=boto3.client("stepfunctions", region_name="us-east-1"),
        settings=Settings.model_validate({"JOB_TABLE_NAME": "jobs"}),
    )


def test_a_segment_id_names_its_job_and_no_caller_can_choose_one() -> None:
    assert parent_of("dub-42.s3") == "dub-42"
    assert parent_of("dub-42") is None
    assert parent_of("dub.s3x") is None


def test_the_end_of_a_segmented_jobs_execution_ends_its_segments_and_frees_their_slots(
    flow_table: Any, store: JobStore
) -> None:
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=3))
    first, second, third = segmented_job(store, "long", 3)
    for running in (first, second):
        assert flow.acquire_slot(running, Mode.LITE)
    store.finish(third, "SUCCEEDED")
    outcome = reconciler(store, flow).execution_ended("long", "ABORTED")
    assert outcome == "nothing held; segments stopped; marked FAILED"
    assert [store.get(s).status for s in (first, second, third)] == ["CANCELLED", "CANCELLED", "SUCCEEDED"]
    assert flow.holders(Mode.LITE) == {}
    assert [job.job_id for job in store.list_jobs(status=None, limit=10, next_token=None).records] == ["long"]
    assert store.list_jobs(status="CANCELLED", limit=10, next_token=None).records == []


def test_the_sweep_frees_a_segment_whose_job_ended_and_keeps_one_whose_job_runs(
    flow_table: Any, store: JobStore
) -> None:
    flow = FlowControl(flow_table, FlowLimits.uniform(qps=0, max_unfinished=3))
    orphan = segmented_job(store, "ended", 2)[0]
    [alive, _] = segmented_job(store, "alive", 2)
    assert flow.acquire_slot(orphan, Mode.LITE)
    assert flow.acquire_slot(alive, Mode.LITE)
    store.finish("ended", "FAILED", error={"name": "X", "message": "its execution died unnoticed"})
    assert reconciler(store, flow).sweep()["released"] == 1
    assert set(flow.holders(Mode.LITE)) == {alive}
    assert store.get(orphan).status == "CANCELLED"
    assert store.get(alive).status == "QUEUED"
