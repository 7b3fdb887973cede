"""The API contract over real HTTP: envelopes, validation codes, task life, inspection."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from lipsync.emulator import Emulator
from lipsync_core.volc import VolcInvalidRequestError, VolcUnavailableError
from lipsync_core.volc.client import utc_now
from lipsync_core.volc.errors import classify_gateway_code
from lipsync_core.volc.signer import Credentials, sign
from tests.emulator.conftest import FAST, finish
from tests.support.media import Media


def raw_call(emulator: Emulator, action: str, body: bytes, version: str = "2022-08-31") -> requests.Response:
    """A correctly signed request with an arbitrary body, bypassing VolcClient's validation."""
    host = emulator.endpoint.removeprefix("http://")
    signed = sign(
        method="POST",
        host=host,
        path="/",
        query={"Action": action, "Version": version},
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=Credentials(emulator.principal.access_key_id, emulator.principal.secret_access_key),
        timestamp=utc_now(),
    )
    return requests.post(
        f"{emulator.endpoint}/",
        params={"Action": action, "Version": version},
        data=body,
        headers=signed.headers,
        timeout=30,
    )


def test_submit_answers_a_19_digit_task_id_in_the_envelope(emulator: Emulator, media: Media) -> None:
    body = json.dumps(
        {
            "req_key": "realman_change_lips",
            "url": media.url("face.mp4"),
            "pure_audio_url": media.url("voice.wav"),
        }
    ).encode()
    answer = raw_call(emulator, "CVSubmitTask", body)
    envelope = answer.json()
    assert answer.status_code == 200
    assert set(envelope) == {"code", "message", "data", "request_id", "time_elapsed"}
    assert (envelope["code"], envelope["message"]) == (10000, "Success")
    task_id = envelope["data"]["task_id"]
    assert isinstance(task_id, str)
    assert task_id.isdigit()
    assert len(task_id) == 19
    assert len(envelope["request_id"]) == 34
    assert envelope["time_elapsed"].endswith("ms")


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (b"{not json", 50204, "not valid JSON"),
        (b"[1]", 50204, "JSON object"),
        (b'{"url": "x", "pure_audio_url": "y"}', 50201, "req_key is required"),
        (
            b'{"req_key": "realman_change_lips_pro", "url": "x", "pure_audio_url": "y"}',
            50200,
            "unknown req_key",
        ),
        (b'{"req_key": "realman_change_lips", "pure_audio_url": "y"}', 50201, "url is required"),
        (
            b'{"req_key": "realman_change_lips", "url": 5, "pure_audio_url": "y"}',
            50204,
            "url must be a string",
        ),
        (
            b'{"req_key": "realman_change_lips", "url": "x", "pure_audio_url": "y", "align_audio": "yes"}',
            50204,
            "align_audio must be a boolean",
        ),
        (
            b'{"req_key": "realman_change_lips_basic_chimera", "url": "x", "pure_audio_url": "y", '
            b'"templ_start_seconds": 1}',
            50200,
            "not supported by realman_change_lips_basic_chimera",
        ),
        (
            b'{"req_key": "realman_change_lips", "url": "x", "pure_audio_url": "y", "open_scenedet": true}',
            50200,
            "open_scenedet is not supported",
        ),
    ],
)
def test_invalid_submissions_get_the_contract_codes(
    emulator: Emulator, body: bytes, code: int, fragment: str
) -> None:
    answer = raw_call(emulator, "CVSubmitTask", body)
    envelope = answer.json()
    assert (answer.status_code, envelope["code"], envelope["data"]) == (400, code, None)
    assert fragment in envelope["message"]
    assert envelope["request_id"]
    assert emulator.admin.submissions()["total"] == 0


@pytest.mark.parametrize(
    ("action", "version"), [("CVSubmitTaskX", "2022-08-31"), ("CVSubmitTask", "2020-01-01")]
)
def test_unknown_actions_and_versions_are_answered_as_the_gateway_would(
    emulator: Emulator, action: str, version: str
) -> None:
    answer = raw_call(emulator, action, b"{}", version=version)
    assert answer.status_code == 404
    error = answer.json()["ResponseMetadata"]["Error"]
    assert error["Code"] == "InvalidActionOrVersion"
    assert classify_gateway_code(error["Code"], 404) is VolcInvalidRequestError


def test_a_task_walks_in_queue_generating_done(emulator: Emulator, media: Media) -> None:
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    first = client.get_result("lite", task_id)
    assert (first.status, first.progress, first.video_url) == ("in_queue", 0.0, None)
    emulator.admin.advance_clock(FAST.queue_seconds + 60)  # into generating
    middle = client.get_result("lite", task_id)
    assert middle.status == "generating"
    assert middle.progress is not None
    assert 0 < middle.progress < 100
    finish(emulator, task_id)
    done = client.get_result("lite", task_id, aigc_meta={"producer_id": "p1"})
    assert done.status == "done"
    assert done.video_url is not None
    assert done.video_url.startswith(f"{emulator.endpoint}/_emulator/results/{task_id}.mp4?expires=")
    assert done.resp_data is not None
    assert done.resp_data["progress"] == 100
    assert done.resp_data["video_meta"]["width"] == 160


def test_unknown_and_old_tasks_are_not_found(emulator: Emulator, media: Media) -> None:
    client = emulator.client()
    assert client.get_result("lite", "7000000000000000001").status == "not_found"
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    assert client.get_result("basic", task_id).status == "not_found", "a task belongs to its req_key"
    finish(emulator, task_id)
    assert client.get_result("lite", task_id).status == "done"
    emulator.admin.advance_clock(12 * 3600)
    assert client.get_result("lite", task_id).status == "not_found"


def test_req_json_must_be_a_json_string(emulator: Emulator) -> None:
    body = json.dumps(
        {"req_key": "realman_change_lips", "task_id": "1", "req_json": {"aigc_meta": {}}}
    ).encode()
    assert raw_call(emulator, "CVGetResult", body).json()["code"] == 50204


def test_inspection_counts_submissions_per_input_pair(emulator: Emulator, media: Media) -> None:
    client = emulator.client()
    for _ in range(2):
        client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav"))
    client.submit_task("basic", media.url("face.mp4"), media.url("short voice.wav"), {"open_scenedet": True})
    submissions = emulator.admin.submissions()
    assert submissions["total"] == 3
    counts = {(s["url"], s["pure_audio_url"]): s["count"] for s in submissions["by_inputs"]}
    assert counts[(media.url("face.mp4"), media.url("voice.wav"))] == 2
    assert counts[(media.url("face.mp4"), media.url("short voice.wav"))] == 1
    tasks = emulator.admin.tasks()
    assert [t["status"] for t in tasks] == ["in_queue"] * 3
    assert tasks[2]["options"] == {"open_scenedet": True}


def test_cancel_makes_an_active_task_disappear(emulator: Emulator, media: Media) -> None:
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    assert client.cancel_task("lite", task_id)
    assert client.get_result("lite", task_id).status == "not_found"


def test_a_bug_in_the_emulator_still_answers_an_envelope(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(body: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(emulator.service, "get_result", broken)
    with pytest.raises(VolcUnavailableError) as caught:
        emulator.client().get_result("lite", "1")
    assert (caught.value.code, caught.value.http_status) == (50500, 500)


def test_hundreds_of_concurrent_status_queries(make_emulator: Callable[..., Emulator], media: Media) -> None:
    from concurrent.futures import ThreadPoolExecutor

    emulator = make_emulator()
    client = emulator.client()
    task_id = client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id
    clients = [emulator.client() for _ in range(16)]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: clients[i % 16].get_result("lite", task_id).status, range(300)))
    assert statuses == ["in_queue"] * 300
