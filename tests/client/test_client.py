"""``lipsync_client.LipSync`` against ``lipsync up --auth iam``: every method, signed with botocore's
signer, and what the API refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lipsync.emulator.admin import EmulatorAdmin
from lipsync_client import JobTimeoutError, LipSync, LipSyncError
from tests.client.conftest import Up
from tests.support.media import Media, streams_and_durations

pytestmark = [pytest.mark.xdist_group("clients"), pytest.mark.slow]


@pytest.fixture
def client(up: Up, session: Any) -> LipSync:
    return LipSync(up.api, session=session)


def test_upload_submit_wait_download(client: LipSync, media: Media, tmp_path: Path) -> None:
    refs = client.upload(media.root / "face.mp4", media.root / "voice.wav")
    assert refs["video"].startswith("s3://")
    assert refs["audio"].startswith("s3://")
    started = client.submit(
        mode="lite", video=refs["video"], audio=refs["audio"], options={"align_audio": True}
    )
    assert (started["status"], started["created"]) == ("QUEUED", True)

    seen: list[dict[str, Any]] = []
    job = client.wait(started["job_id"], interval=0.1, on_progress=seen.append)
    assert job["status"] == "SUCCEEDED"
    assert seen[-1]["status"] == "SUCCEEDED"
    assert len({(j["status"], j.get("progress")) for j in seen}) == len(seen)  # only changes reported

    saved = client.download(job, tmp_path)  # a directory: the file goes inside
    assert saved == tmp_path / f"{job['job_id']}.mp4"
    assert abs(streams_and_durations(saved)["audio"] - 2.0) < 0.1
    assert [p.name for p in tmp_path.iterdir()] == [saved.name]  # no partial file left
    # The README's `client.download(done, "out/")`: a trailing slash names a folder, made if missing.
    into = client.download(job, f"{tmp_path / 'out'}/")
    assert into == tmp_path / "out" / f"{job['job_id']}.mp4"
    assert streams_and_durations(into) == streams_and_durations(saved)


def test_get_and_list_newest_first(client: LipSync, media: Media) -> None:
    refs = client.upload(media.root / "face.mp4", media.root / "voice.wav")
    ids = [client.submit(mode="lite", video=refs["video"], audio=refs["audio"])["job_id"] for _ in range(3)]
    assert client.get(ids[0])["job_id"] == ids[0]
    listed = [job["job_id"] for job in client.list(limit=100)["jobs"]]
    assert listed[:3] == ids[::-1]
    first, second = client.list(limit=2), None
    assert first["next_token"]
    second = client.list(limit=2, next_token=first["next_token"])
    assert [j["job_id"] for j in first["jobs"] + second["jobs"]] == listed[:4]
    assert [j["job_id"] for j in client.iter_jobs(page_size=2)][:3] == ids[::-1]
    for job_id in ids:
        client.wait(job_id, interval=0.1)


def test_idempotent_submit(client: LipSync, media: Media) -> None:
    request = {"mode": "lite", "video": media.url("face.mp4"), "audio": media.url("voice.wav")}
    first = client.submit(request, idempotency_key="client-test-once")
    again = client.submit(request, idempotency_key="client-test-once")
    assert (again["job_id"], again["created"]) == (first["job_id"], False)
    client.wait(first["job_id"], interval=0.1)


@pytest.fixture
def stuck_job(client: LipSync, up: Up, media: Media) -> Iterator[str]:
    """A job that stays in flight (every poll throttled) until it is cancelled."""
    admin = EmulatorAdmin(up.document["emulator"])
    admin.add_faults({"fault": "throttle", "action": "CVGetResult", "count": 10_000})
    try:
        yield client.submit(mode="lite", video=media.url("face.mp4"), audio=media.url("voice.wav"))["job_id"]
    finally:
        admin.clear_faults()


def test_cancel_a_running_job_then_refuse_to_cancel_it_again(client: LipSync, stuck_job: str) -> None:
    assert client.cancel(stuck_job)["status"] == "CANCELLED"
    assert client.wait(stuck_job, interval=0.1)["status"] == "CANCELLED"
    with pytest.raises(LipSyncError) as refused:
        client.cancel(stuck_job)
    assert refused.value.status == 409


def test_wait_gives_up_at_its_timeout(client: LipSync, stuck_job: str) -> None:
    with pytest.raises(JobTimeoutError, match="still"):
        client.wait(stuck_job, timeout=0, interval=0.1)
    client.cancel(stuck_job)


def test_refusals_are_errors_with_status_and_fields(client: LipSync) -> None:
    with pytest.raises(LipSyncError) as missing:
        client.get("no-such-job")
    assert (missing.value.status, missing.value.message) == (404, "no such job")
    with pytest.raises(LipSyncError) as invalid:
        client.submit(mode="lite", video="s3://b-u-c/v.mp4", audio="s3://b-u-c/a.wav", options={"nope": 1})
    assert invalid.value.status == 400
    assert "unknown option 'nope'" in invalid.value.message
    with pytest.raises(LipSyncError) as unfinished:
        client.download({"job_id": "x", "status": "RUNNING"}, ".")
    assert "has no result" in unfinished.value.message


def test_unsigned_or_wrongly_signed_calls_are_refused(up: Up) -> None:
    with pytest.raises(LipSyncError) as unsigned:
        LipSync(up.api, sign=False).list()
    assert (unsigned.value.status, unsigned.value.message) == (403, "Missing Authentication Token")
    wrong = boto3.Session(aws_access_key_id="k", aws_secret_access_key="not-it", region_name="us-east-1")
    with pytest.raises(LipSyncError) as refused:
        LipSync(up.api, session=wrong).list()
    assert refused.value.status == 403
    assert "signature" in refused.value.message


def test_an_unreachable_endpoint_is_one_sentence() -> None:
    with pytest.raises(LipSyncError, match=r"^cannot reach http://127\.0\.0\.1:9: ConnectionError$"):
        LipSync("http://127.0.0.1:9", sign=False).list()


def test_a_stack_is_found_by_its_cloudformation_outputs(
    up: Up, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's ApiUrl output, read with the user's credentials (moto's CloudFormation here)."""
    cloudformation = session.client("cloudformation", endpoint_url=up.document["aws"])
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"ApiUrl": {"Value": up.api + "/", "Description": "the jobs API"}},
    }
    cloudformation.create_stack(StackName="ClientTestStack", TemplateBody=json.dumps(template))
    monkeypatch.setenv("AWS_ENDPOINT_URL", up.document["aws"])  # where botocore finds "AWS" here
    client = LipSync.for_stack("ClientTestStack", session=session)
    assert client.endpoint == up.api
    assert "jobs" in client.list(limit=1)
    with pytest.raises(LipSyncError, match="cannot read stack NoSuchStack"):
        LipSync.for_stack("NoSuchStack", session=session)
