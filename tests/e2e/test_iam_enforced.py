"""IAM as the synthesized template defines it, enforced by the local runtime: take one permission a job's
path needs away from the template, and the local job fails with access denied, as it would on AWS (the
unchanged template runs every other e2e test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from lipsync.local.runtime import LocalRuntime
from lipsync.media.samples import make_talking_head, make_voice
from tests.support.templates import runtime_from, without_permission

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

REQUEST = {"mode": "lite", "video": "inputs/face.mp4", "audio": "inputs/voice.wav"}


def runtime_without(tmp_path: Path, role: str, action: str) -> LocalRuntime:
    return runtime_from(tmp_path, without_permission(role, action))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("iam-media")
    return {
        REQUEST["video"]: make_talking_head(folder / "face.mp4", seconds=1.0, width=160, height=120),
        REQUEST["audio"]: make_voice(folder / "voice.wav", seconds=1.0),
    }


def submitted(runtime: LocalRuntime, media: dict[str, Path] | None = None) -> requests.Response:
    """A job asked for through the API, its inputs uploaded first (placeholders where the job is
    expected to fail before anything reads them)."""
    assert runtime.endpoints
    bucket = runtime.endpoints.bucket
    s3 = runtime.client("s3")
    for key in (REQUEST["video"], REQUEST["audio"]):
        content = media[key].read_bytes() if media else b"never read: the job fails before"
        s3.put_object(Bucket=bucket, Key=key, Body=content)
    body = {
        **REQUEST,
        "video": f"s3://{bucket}/{REQUEST['video']}",
        "audio": f"s3://{bucket}/{REQUEST['audio']}",
    }
    return requests.post(f"{runtime.endpoints.api}/jobs", json=body, timeout=30)


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("Functionssubmitrole", "secretsmanager:GetSecretValue"),  # Submit cannot sign for the service
        ("InputReaderRole", "s3:GetObject"),  # the input URLs could not be honoured
        ("Functionssubmitrole", "sts:AssumeRole"),  # Submit cannot become the input reader
        ("WorkflowStateMachineRole", "lambda:InvokeFunction"),  # the state machine cannot run a step
    ],
)
def test_a_permission_taken_from_the_template_fails_the_job_with_access_denied(
    tmp_path: Path, media: dict[str, Path], role: str, action: str
) -> None:
    # Given the local stack from a template without one permission the job's path needs
    with runtime_without(tmp_path, role, action) as runtime:
        # When a job is asked for, with inputs Prepare can read and judge fit
        answer = submitted(runtime, media)
        assert answer.status_code == 202, answer.text
        event = runtime.wait_for_terminal_event(answer.json()["job_id"], timeout=90)
        # Then it fails, and the one refusal was that permission, answered as AWS answers it
        assert event["detail-type"] == "LipSync Job Failed"
        denied = {(d.principal.rsplit("/", 1)[-1], d.action) for d in runtime.gate.denials}
        assert denied
        assert all(r.startswith(f"lipsync-{role}") and a == action for r, a in denied), denied
        assert runtime.emulator.admin.submissions()["total"] == 0, "nothing was paid for"


def test_the_api_without_start_execution_fails_the_request_and_starts_nothing(tmp_path: Path) -> None:
    with runtime_without(tmp_path, "EntryFunctionsapirole", "states:StartExecution") as runtime:
        answer = submitted(runtime)
        assert answer.status_code >= 500, answer.text
        assert [(d.action, d.resource) for d in runtime.gate.denials] == [
            ("states:StartExecution", runtime.endpoints.state_machine_arn if runtime.endpoints else "")
        ]
        assert runtime.emulator.admin.submissions()["total"] == 0


def test_copy_result_without_s3_put_object_fails_the_paid_job_and_writes_nothing(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    with runtime_without(tmp_path, "Functionscopyresultrole", "s3:PutObject") as runtime:
        answer = submitted(runtime, media)
        assert answer.status_code == 202, answer.text
        event = runtime.wait_for_terminal_event(answer.json()["job_id"], timeout=90)
        assert event["detail-type"] == "LipSync Job Failed"
        assert "AccessDenied" in json.dumps(event["detail"]["error"])
        assert {d.action for d in runtime.gate.denials} == {"s3:PutObject"}
        assert runtime.endpoints
        listed = runtime.client("s3").list_objects_v2(Bucket=runtime.endpoints.bucket, Prefix="outputs/")
        assert listed.get("KeyCount") == 0, "no partial result"
