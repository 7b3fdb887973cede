"""VolcClient over real HTTP against a local server that checks signatures on its own."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lipsync_core.volc import (
    VolcAuthError,
    VolcClient,
    VolcContentModerationError,
    VolcError,
    VolcInvalidRequestError,
    VolcSubmitUnconfirmedError,
    VolcTaskFailedError,
    VolcThrottledError,
    VolcUnavailableError,
    VolcUnknownError,
)
from lipsync_core.volc.errors import outcome_of
from lipsync_core.volc.models import RequestValidationError
from tests.support.scripted_server import Reply, ScriptedServer, scripted_server

AK, SK, TOKEN = "AKLTlocal", "sk-very-secret-value", "STS-token-secret-value"
VIDEO, AUDIO = "https://media.example.com/in.mp4", "https://media.example.com/voice.wav"


def ok(data: object, request_id: str = "req-1") -> Reply:
    return Reply(
        body={
            "code": 10000,
            "message": "Success",
            "data": data,
            "request_id": request_id,
            "time_elapsed": "5ms",
        }
    )


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server(SK) as scripted:
        yield scripted


@pytest.fixture
def client(server: ScriptedServer) -> VolcClient:
    return VolcClient(AK, SK, TOKEN, endpoint=server.endpoint, timeout=(1.0, 2.0))


def test_submit_round_trip_is_signed_and_sends_the_signed_bytes(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(ok({"task_id": "7392616336519610409"}))
    result = client.submit_task("lite", VIDEO, AUDIO, {"align_audio": True, "templ_start_seconds": 1})
    assert (result.task_id, result.request_id, result.time_elapsed) == ("7392616336519610409", "req-1", "5ms")
    [received] = server.received
    assert received.signature_valid
    assert received.query == {"Action": "CVSubmitTask", "Version": "2022-08-31"}
    assert received.headers["X-Security-Token"] == TOKEN
    assert json.loads(received.body) == {
        "req_key": "realman_change_lips",
        "url": VIDEO,
        "pure_audio_url": AUDIO,
        "align_audio": True,
        "templ_start_seconds": 1.0,
    }


def test_a_wrong_secret_is_detected_by_the_server(server: ScriptedServer) -> None:
    server.reply(ok({"task_id": "1"}))
    VolcClient(AK, "another-secret", endpoint=server.endpoint).submit_task("basic", VIDEO, AUDIO)
    assert server.received[0].signature_valid is False


def test_get_result_parses_status_url_and_resp_data(server: ScriptedServer, client: VolcClient) -> None:
    server.reply(
        ok(
            {
                "status": "done",
                "url": "https://cdn.example.com/out.mp4",
                "resp_data": json.dumps({"progress": 100, "video_meta": {"duration": 3.5}}),
            }
        )
    )
    result = client.get_result(
        "lite", "7392616336519610409", aigc_meta={"producer_id": "p1", "content_propagator": "c1"}
    )
    assert (result.status, result.video_url, result.progress) == (
        "done",
        "https://cdn.example.com/out.mp4",
        100.0,
    )
    assert result.resp_data == {"progress": 100, "video_meta": {"duration": 3.5}}
    body = json.loads(server.received[0].body)
    assert body["req_key"] == "realman_change_lips"
    assert json.loads(body["req_json"]) == {"aigc_meta": {"producer_id": "p1", "content_propagator": "c1"}}
    assert server.received[0].signature_valid


@pytest.mark.parametrize("status", ["in_queue", "generating", "not_found", "expired"])
def test_get_result_returns_non_final_statuses(
    server: ScriptedServer, client: VolcClient, status: str
) -> None:
    server.reply(ok({"status": status, "url": "", "resp_data": ""}))
    result = client.get_result("basic", "1")
    assert (result.status, result.video_url, result.resp_data) == (status, None, None)
    assert json.loads(server.received[0].body)["req_key"] == "realman_change_lips_basic_chimera"


# Each documented code with the HTTP status the contract gives it, and what it must become.
DOCUMENTED = [
    (400, 50200, VolcInvalidRequestError),
    (400, 50201, VolcInvalidRequestError),
    (400, 50204, VolcInvalidRequestError),
    (400, 50209, VolcInvalidRequestError),
    (400, 50210, VolcInvalidRequestError),
    (400, 50211, VolcInvalidRequestError),
    (400, 50213, VolcInvalidRequestError),
    (401, 50400, VolcAuthError),
    (404, 50429, VolcThrottledError),
    (429, 50430, VolcThrottledError),
    (500, 50500, VolcUnavailableError),
    (418, 12345, VolcUnknownError),
]
# Codes integrators report beyond the contract (../shared/volcengine/README.md) and the class each is
# documented to have (docs/architecture.md, Errors): too long and invalid inputs are the caller's to
# fix; 5041x, 50511-50516 and 50518 are moderation; 50501 is retried as integrators retry it; 50520 and
# no face end the job.
REPORTED = [
    (400, 50214, VolcInvalidRequestError),
    (400, 50215, VolcInvalidRequestError),
    (200, 50411, VolcContentModerationError),
    (200, 50412, VolcContentModerationError),
    (200, 50413, VolcContentModerationError),
    (500, 50501, VolcUnavailableError),
    (200, 50511, VolcContentModerationError),
    (200, 50512, VolcContentModerationError),
    (200, 50514, VolcContentModerationError),
    (200, 50516, VolcContentModerationError),
    (200, 50518, VolcContentModerationError),
    (200, 50520, VolcTaskFailedError),
    (200, 60102, VolcTaskFailedError),
]
OUTCOMES = {
    VolcThrottledError: "retryable",
    VolcUnavailableError: "retryable",
    VolcContentModerationError: "moderation",
    VolcInvalidRequestError: "terminal",
    VolcAuthError: "terminal",
    VolcTaskFailedError: "terminal",
    VolcUnknownError: "terminal",
}


@pytest.mark.parametrize(("http_status", "code", "error_class"), DOCUMENTED + REPORTED)
def test_service_codes_map_to_typed_errors(
    server: ScriptedServer, client: VolcClient, http_status: int, code: int, error_class: type[VolcError]
) -> None:
    server.reply(
        Reply(
            status=http_status,
            body={"code": code, "message": f"msg {code}", "data": None, "request_id": f"rid-{code}"},
        )
    )
    with pytest.raises(error_class) as caught:
        client.submit_task("lite", VIDEO, AUDIO)
    error = caught.value
    assert type(error) is error_class
    assert (error.code, error.http_status, error.request_id) == (code, http_status, f"rid-{code}")
    assert error.retryable is (error_class in (VolcThrottledError, VolcUnavailableError))
    assert outcome_of(error_class) == OUTCOMES[error_class]
    assert f"msg {code}" in str(error)
    assert f"rid-{code}" in str(error)


@pytest.mark.parametrize(("code", "error_class"), [(code, cls) for _, code, cls in REPORTED])
def test_a_task_done_with_a_reported_code_fails_as_documented(
    server: ScriptedServer, client: VolcClient, code: int, error_class: type[VolcError]
) -> None:
    """A task that ends with one of these codes is never asked again: moderation stays moderation,
    everything else (even a code that is retryable at submit) is the task's failure."""
    server.reply(
        Reply(body={"code": code, "message": f"m{code}", "request_id": "r", "data": {"status": "done"}})
    )
    with pytest.raises(VolcTaskFailedError) as caught:
        client.get_result("basic", "1")
    expected = error_class if error_class is VolcContentModerationError else VolcTaskFailedError
    assert (type(caught.value), caught.value.code) == (expected, code)


def test_a_moderated_task_answered_without_data_is_moderation(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(
        Reply(
            body={
                "code": 50413,
                "data": None,
                "message": "Post Text Risk Not Pass",
                "request_id": "r1",
                "status": 50413,
                "time_elapsed": "3ms",
            }
        )
    )
    with pytest.raises(VolcTaskFailedError, match="Post Text Risk Not Pass") as caught:
        client.get_result("lite", "1")
    assert caught.value.to_dict()["error"] == "VolcContentModerationError"


def test_done_with_an_unlisted_failure_code_in_a_query_is_a_task_failure(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(
        Reply(
            body={
                "code": 61001,
                "message": "render failed",
                "request_id": "r2",
                "data": {"status": "done", "url": ""},
            }
        )
    )
    with pytest.raises(VolcTaskFailedError):
        client.get_result("lite", "1")


@pytest.mark.parametrize(
    ("http_status", "gateway_code", "error_class"),
    [
        (401, "SignatureDoesNotMatch", VolcAuthError),
        (401, "InvalidAccessKey", VolcAuthError),
        (429, "FlowLimitExceeded", VolcThrottledError),
        (503, "ServiceUnavailable", VolcUnavailableError),
        (400, "InvalidActionOrVersion", VolcInvalidRequestError),
    ],
)
def test_gateway_envelope_maps_to_typed_errors(
    server: ScriptedServer,
    client: VolcClient,
    http_status: int,
    gateway_code: str,
    error_class: type[VolcError],
) -> None:
    server.reply(
        Reply(
            status=http_status,
            body={
                "ResponseMetadata": {
                    "RequestId": "r3",
                    "Action": "CVSubmitTask",
                    "Version": "2022-08-31",
                    "Service": "cv",
                    "Region": "cn-north-1",
                    "Error": {"CodeN": 100010, "Code": gateway_code, "Message": "nope"},
                }
            },
        )
    )
    with pytest.raises(error_class) as caught:
        client.submit_task("lite", VIDEO, AUDIO)
    assert (caught.value.code, caught.value.request_id, caught.value.http_status) == (
        gateway_code,
        "r3",
        http_status,
    )


@pytest.mark.parametrize(
    ("http_status", "body", "error_class"),
    [
        (500, b"<html>Internal Server Error</html>", VolcUnavailableError),
        (502, b"Bad Gateway", VolcUnavailableError),
        (429, b"slow down", VolcThrottledError),
        (403, b"Forbidden", VolcAuthError),
        (200, b"not json at all", VolcUnknownError),
        (200, b"[1, 2]", VolcUnknownError),
    ],
)
def test_non_json_answers_become_typed_errors(
    server: ScriptedServer, client: VolcClient, http_status: int, body: bytes, error_class: type[VolcError]
) -> None:
    server.reply(Reply(status=http_status, body=body, content_type="text/html"))
    with pytest.raises(error_class) as caught:
        client.get_result("lite", "1")
    assert caught.value.http_status == http_status


def test_success_without_a_task_id_is_not_taken_for_a_task(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(ok({}))
    with pytest.raises(VolcUnknownError, match="without a task_id"):
        client.submit_task("lite", VIDEO, AUDIO)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retryable_even_for_a_submit() -> None:
    client = VolcClient(AK, SK, endpoint=f"http://127.0.0.1:{_closed_port()}", timeout=(1.0, 1.0))
    with pytest.raises(VolcUnavailableError, match="before an answer"):
        client.submit_task("lite", VIDEO, AUDIO)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_read_timeout_after_sending_a_submit_is_unconfirmed(
    server: ScriptedServer, release: threading.Event
) -> None:
    server.reply(Reply(delay=release, body={"code": 10000, "data": {"task_id": "1"}}))
    client = VolcClient(AK, SK, endpoint=server.endpoint, timeout=(1.0, 0.2))
    with pytest.raises(VolcSubmitUnconfirmedError, match="may exist") as caught:
        client.submit_task("lite", VIDEO, AUDIO)
    assert caught.value.retryable is False
    assert len(server.received) == 1, "the request did reach the server"


def test_a_read_timeout_on_a_query_is_retryable(server: ScriptedServer, release: threading.Event) -> None:
    server.reply(Reply(delay=release))
    client = VolcClient(AK, SK, endpoint=server.endpoint, timeout=(1.0, 0.2))
    with pytest.raises(VolcUnavailableError):
        client.get_result("lite", "1")


def test_a_dropped_connection_after_a_submit_is_unconfirmed(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(Reply(drop_connection=True))
    with pytest.raises(VolcSubmitUnconfirmedError):
        client.submit_task("lite", VIDEO, AUDIO)


def test_invalid_input_is_refused_before_anything_is_sent(server: ScriptedServer, client: VolcClient) -> None:
    with pytest.raises(RequestValidationError, match=r"open_scenedet.*basic"):
        client.submit_task("lite", VIDEO, AUDIO, {"open_scenedet": True})
    with pytest.raises(RequestValidationError, match="scheme 'ftp'"):
        client.submit_task("basic", "ftp://x/in.mp4", AUDIO)
    assert server.received == []


def test_unicode_and_reserved_characters_in_urls_are_sent_encoded(
    server: ScriptedServer, client: VolcClient
) -> None:
    server.reply(ok({"task_id": "9"}))
    client.submit_task(
        "lite",
        "https://média.example.com/视频 1.mp4?X-Amz-Signature=a%2Bb&k=v+w",
        "https://media.example.com/voice%20one.wav",
    )
    body = json.loads(server.received[0].body)
    assert body["url"] == (
        "https://xn--mdia-bpa.example.com/%E8%A7%86%E9%A2%91%201.mp4?X-Amz-Signature=a%2Bb&k=v+w"
    )
    assert body["pure_audio_url"] == "https://media.example.com/voice%20one.wav"
    assert server.received[0].signature_valid


def test_the_clock_is_injectable(server: ScriptedServer) -> None:
    frozen = datetime(2025, 1, 1, tzinfo=UTC)
    client = VolcClient(AK, SK, endpoint=server.endpoint, clock=lambda: frozen)
    server.reply(ok({"task_id": "1"}))
    client.submit_task("lite", VIDEO, AUDIO)
    assert server.received[0].headers["X-Date"] == "20250101T000000Z"


def test_cancel_task_uses_its_own_version(server: ScriptedServer, client: VolcClient) -> None:
    server.reply(ok(None, request_id="cancel-1"))
    assert client.cancel_task("lite", "42") == "cancel-1"
    assert server.received[0].query == {"Action": "CVCancelTask", "Version": "2024-06-06"}


def test_secrets_never_appear_in_repr_logs_or_errors(
    server: ScriptedServer, client: VolcClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts = [repr(client), str(client.credentials), repr(client.credentials)]
    server.reply(
        ok({"task_id": "1"}),
        Reply(
            status=401,
            body={
                "ResponseMetadata": {
                    "RequestId": "r",
                    "Error": {"Code": "SignatureDoesNotMatch", "Message": "bad signature"},
                }
            },
        ),
        Reply(status=500, body=b"boom"),
    )
    client.submit_task("lite", VIDEO, AUDIO)
    for _ in range(2):
        with pytest.raises(VolcError) as caught:
            client.get_result("lite", "1")
        texts += [str(caught.value), repr(caught.value), json.dumps(caught.value.to_dict())]
    texts.append(caplog.text)
    texts += [json.dumps(record.__dict__, default=str) for record in caplog.records]
    joined = "\n".join(texts)
    assert AK in joined, "the access key id is not secret and helps diagnosis"
    assert SK not in joined
    assert TOKEN not in joined


def test_endpoint_must_be_http() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        VolcClient(AK, SK, endpoint="visual.volcengineapi.com")
    assert VolcClient(AK, SK).endpoint == "https://visual.volcengineapi.com"
