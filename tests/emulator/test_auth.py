"""Authentication as the service does it, and interoperability with the official SDK."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests

from lipsync.emulator import Emulator
from lipsync_core.volc import VolcAuthError, VolcClient
from lipsync_core.volc.client import utc_now
from lipsync_core.volc.signer import Credentials, sign
from tests.support.media import Media

VISUAL = {"video": "face.mp4", "voice": "voice.wav"}


def submit(client: VolcClient, media: Media) -> str:
    return client.submit_task("lite", media.url("face.mp4"), media.url("voice.wav")).task_id


@pytest.mark.parametrize(
    ("make_client", "code"),
    [
        (
            lambda e: VolcClient(e.principal.access_key_id, "wrong", endpoint=e.endpoint),
            "SignatureDoesNotMatch",
        ),
        (
            lambda e: VolcClient("AKLTother", e.principal.secret_access_key, endpoint=e.endpoint),
            "InvalidAccessKey",
        ),
        (lambda e: e.client(clock=lambda: utc_now() - timedelta(minutes=16)), "InvalidTimestamp"),
        (lambda e: e.client(clock=lambda: utc_now() + timedelta(minutes=16)), "InvalidTimestamp"),
    ],
)
def test_bad_credentials_and_stale_dates_get_401(
    emulator: Emulator, media: Media, make_client: Callable[[Emulator], VolcClient], code: str
) -> None:
    with pytest.raises(VolcAuthError) as caught:
        submit(make_client(emulator), media)
    assert (caught.value.code, caught.value.http_status) == (code, 401)
    assert caught.value.request_id
    assert emulator.admin.submissions()["total"] == 0


def test_a_date_within_fifteen_minutes_is_accepted(emulator: Emulator, media: Media) -> None:
    assert submit(emulator.client(clock=lambda: utc_now() - timedelta(minutes=14)), media)


def _signed_headers(emulator: Emulator, body: bytes, token: str | None = None) -> dict[str, str]:
    return sign(
        method="POST",
        host=emulator.endpoint.removeprefix("http://"),
        path="/",
        query={"Action": "CVGetResult", "Version": "2022-08-31"},
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=Credentials(
            emulator.principal.access_key_id, emulator.principal.secret_access_key, token
        ),
        timestamp=datetime.now(UTC),
    ).headers


def _post(emulator: Emulator, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{emulator.endpoint}/?Action=CVGetResult&Version=2022-08-31", data=body, headers=headers, timeout=10
    )


def test_the_body_must_match_its_signed_hash(emulator: Emulator) -> None:
    signed_body = b'{"req_key":"realman_change_lips","task_id":"1"}'
    answer = _post(
        emulator, b'{"req_key":"realman_change_lips","task_id":"2"}', _signed_headers(emulator, signed_body)
    )
    assert answer.status_code == 400
    assert answer.json()["ResponseMetadata"]["Error"]["Code"] == "InvalidContentSha256"


def test_a_tampered_signed_header_breaks_the_signature(emulator: Emulator) -> None:
    body = b'{"req_key":"realman_change_lips","task_id":"1"}'
    headers = _signed_headers(emulator, body)
    headers["Content-Type"] = "text/plain"
    answer = _post(emulator, body, headers)
    assert answer.json()["ResponseMetadata"]["Error"]["Code"] == "SignatureDoesNotMatch"


def test_an_unsigned_request_is_refused(emulator: Emulator) -> None:
    answer = _post(emulator, b"{}", {"Content-Type": "application/json"})
    assert answer.status_code == 401
    envelope = answer.json()["ResponseMetadata"]
    assert envelope["Error"]["Code"] == "MissingAuthenticationToken"
    assert (envelope["Action"], envelope["Version"], envelope["Service"]) == (
        "CVGetResult",
        "2022-08-31",
        "cv",
    )


def test_a_session_token_is_required_when_configured(
    make_emulator: Callable[..., Emulator], media: Media
) -> None:
    emulator = make_emulator(session_token="STS-token")
    without = VolcClient(
        emulator.principal.access_key_id, emulator.principal.secret_access_key, endpoint=emulator.endpoint
    )
    with pytest.raises(VolcAuthError) as caught:
        submit(without, media)
    assert caught.value.code == "InvalidSecurityToken"
    wrong = VolcClient(
        emulator.principal.access_key_id,
        emulator.principal.secret_access_key,
        "STS-other",
        endpoint=emulator.endpoint,
    )
    with pytest.raises(VolcAuthError):
        submit(wrong, media)
    assert submit(emulator.client(), media)


@pytest.fixture
def sdk_service(emulator: Emulator):
    from volcengine.visual.VisualService import VisualService

    service = VisualService()
    service.set_ak(emulator.principal.access_key_id)
    service.set_sk(emulator.principal.secret_access_key)
    service.set_host(emulator.endpoint.removeprefix("http://"))
    service.set_scheme("http")
    return service


def test_requests_signed_by_the_official_sdk_are_accepted(
    sdk_service,
    emulator: Emulator,
    media: Media,
) -> None:
    submitted = sdk_service.cv_submit_task(
        {
            "req_key": "realman_change_lips",
            "url": media.url("face.mp4"),
            "pure_audio_url": media.url("voice.wav"),
            "align_audio": True,
        }
    )
    assert submitted["code"] == 10000
    task_id = submitted["data"]["task_id"]
    result = sdk_service.cv_get_result(
        {
            "req_key": "realman_change_lips",
            "task_id": task_id,
            "req_json": json.dumps({"aigc_meta": {"producer_id": "p1"}}),
        }
    )
    assert (result["code"], result["data"]["status"]) == (10000, "in_queue")
    assert emulator.admin.submissions()["total"] == 1


def test_the_sdk_with_a_wrong_secret_is_refused(sdk_service, media: Media) -> None:
    sdk_service.set_sk("not-the-secret")
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        sdk_service.cv_get_result({"req_key": "realman_change_lips", "task_id": "1"})
