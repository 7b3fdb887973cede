"""Batches through ``lipsync up``: 50 lines, three invalid; 47 jobs, three line errors, the
``LipSync Batch Finished`` event; a redelivered batch starts nothing twice. (That the event is
announced once, however often the jobs' events arrive: ``tests/unit/test_batches.py``.)"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from lipsync_client import LipSync, LipSyncError
from tests.client.conftest import Up
from tests.support import processes
from tests.support.media import Media
from tests.support.schemas import EVENT_SCHEMAS, assert_valid

pytestmark = [pytest.mark.xdist_group("clients"), pytest.mark.slow]
INVALID = {
    7: "{not json",
    20: json.dumps(
        {"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav", "options": {"x": 1}}
    ),
    33: json.dumps(
        {"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav", "job_id": "mine"}
    ),
}


def manifest(media: Media) -> str:
    request = {"mode": "lite", "video": media.url("face.mp4"), "audio": media.url("voice.wav")}
    return "\n".join(INVALID.get(line, json.dumps(request)) for line in range(1, 51))


def finished_event(up: Up, batch_id: str) -> dict[str, Any]:
    """Follows the announced events until this batch's end."""
    follower = processes.popen(
        [sys.executable, "-m", "lipsync", "events", "--follow", "--json"],
        env=up.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert follower.stdout is not None
        for line in follower.stdout:
            event = json.loads(line)
            if event["detail-type"] == "LipSync Batch Finished" and event["detail"]["batch_id"] == batch_id:
                return dict(event)
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    raise AssertionError("the events ended without the batch's end")


def test_a_batch_of_fifty_lines_with_three_invalid(up: Up, session: Any, media: Media) -> None:
    client = LipSync(up.api, session=session)
    text = manifest(media)
    batch = client.submit_batch(text, idempotency_key="batch-test-50")
    assert (batch["total"], batch["rejected_lines"]) == (47, 3)
    assert [error["line"] for error in batch["line_errors"]] == [7, 20, 33]
    assert "not valid JSON" in batch["line_errors"][0]["reason"]
    assert "unknown option 'x'" in batch["line_errors"][1]["reason"]
    assert "cannot name its job_id" in batch["line_errors"][2]["reason"]
    batch_id = batch["batch_id"]
    assert batch["jobs"][:2] == [f"{batch_id}-L0001", f"{batch_id}-L0002"]
    assert f"{batch_id}-L0007" not in batch["jobs"]

    again = client.submit_batch(text, idempotency_key="batch-test-50")  # a redelivery
    assert (again["batch_id"], again["jobs"]) == (batch_id, batch["jobs"])
    with pytest.raises(LipSyncError) as conflict:
        client.submit_batch(text + "\n" + text.splitlines()[0], idempotency_key="batch-test-50")
    assert conflict.value.status == 409

    event = finished_event(up, batch_id)
    assert_valid(EVENT_SCHEMAS["LipSync Batch Finished"], event["detail"])
    assert (event["detail"]["total"], event["detail"]["succeeded"], event["detail"]["running"]) == (47, 47, 0)
    progress = client.get_batch(batch_id)
    assert (progress["status"], progress["succeeded"], progress["rejected_lines"]) == ("FINISHED", 47, 3)
    assert client.get(f"{batch_id}-L0050")["status"] == "SUCCEEDED"


def test_an_empty_or_unknown_batch(up: Up, session: Any) -> None:
    client = LipSync(up.api, session=session)
    with pytest.raises(LipSyncError) as empty:
        client.submit_batch("\n\n")
    assert (empty.value.status, empty.value.message) == (
        400,
        "the batch has no requests (one JSON request per line)",
    )
    with pytest.raises(LipSyncError) as unknown:
        client.get_batch("batch-" + "0" * 32)
    assert (unknown.value.status, unknown.value.message) == (404, "no such batch")


def test_a_jsonl_manifest_uploaded_under_jobs_is_a_batch(up: Up, session: Any, media: Media) -> None:
    from lipsync_core.jobs.entry.batches import batch_id_for

    request = {"mode": "lite", "video": media.url("face.mp4"), "audio": media.url("voice.wav")}
    text = "\n".join([json.dumps(request), "", json.dumps({**request, "mode": "nope"}), json.dumps(request)])
    s3 = session.client("s3", endpoint_url=up.document["aws"])
    key = "jobs/small batch.jsonl"
    etag = s3.put_object(Bucket=up.document["bucket"], Key=key, Body=text.encode())["ETag"].strip('"')
    batch_id = batch_id_for("s3", up.document["bucket"], key, etag)  # moto sends no version id

    event = finished_event(up, batch_id)
    assert (event["detail"]["total"], event["detail"]["succeeded"], event["detail"]["rejected_lines"]) == (
        2,
        2,
        1,
    )
    progress = LipSync(up.api, session=session).get_batch(batch_id)
    assert progress["jobs"] == [f"{batch_id}-L0001", f"{batch_id}-L0004"]  # blank lines keep their numbers
    assert progress["line_errors"][0]["line"] == 3
