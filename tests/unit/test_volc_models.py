"""Request models: mode to req_key, options per mode, input URLs, req_json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lipsync_core.volc.models import (
    Mode,
    RequestValidationError,
    SubmitTaskRequest,
    TaskResult,
    build_req_json,
    normalise_input_url,
    parse_resp_data,
    validate_options,
)

V, A = "https://x.example/v.mp4", "https://x.example/a.wav"


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        ("lite", Mode.LITE),
        ("BASIC", Mode.BASIC),
        ("realman_change_lips", Mode.LITE),
        ("realman_change_lips_basic_chimera", Mode.BASIC),
    ],
)
def test_mode_accepts_names_and_req_keys(given: str, mode: Mode) -> None:
    assert Mode.parse(given) is mode


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(RequestValidationError, match=r"unknown mode 'pro'.*lite.*basic"):
        Mode.parse("pro")


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    [
        (Mode.BASIC, {"align_audio": True}, "'align_audio' is only valid in lite mode, not in basic"),
        (Mode.BASIC, {"templ_start_seconds": 1}, "'templ_start_seconds' is only valid in lite mode"),
        (Mode.BASIC, {"align_audio_reverse": True}, "'align_audio_reverse' is only valid in lite"),
        (Mode.LITE, {"open_scenedet": True}, "'open_scenedet' is only valid in basic mode, not in lite"),
        (Mode.LITE, {"loop": True}, "unknown option 'loop'"),
        (Mode.LITE, {"align_audio": "yes"}, "'align_audio' must be true or false"),
        (Mode.LITE, {"separate_vocal": 1}, "'separate_vocal' must be true or false"),
        (Mode.LITE, {"templ_start_seconds": "2"}, "'templ_start_seconds' must be a number"),
        (Mode.LITE, {"templ_start_seconds": True}, "'templ_start_seconds' must be a number"),
        (Mode.LITE, {"templ_start_seconds": float("nan")}, "must be a number"),
        (Mode.LITE, {"templ_start_seconds": -1}, "must not be negative"),
        (Mode.LITE, {"align_audio": False, "align_audio_reverse": True}, "needs 'align_audio'"),
    ],
)
def test_invalid_options_name_the_option(mode: Mode, options: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestValidationError, match=message):
        validate_options(mode, options)


def test_valid_options_are_cleaned() -> None:
    assert validate_options(
        Mode.LITE, {"templ_start_seconds": 2, "separate_vocal": None, "align_audio_reverse": True}
    ) == {"templ_start_seconds": 2.0, "align_audio_reverse": True}
    assert validate_options(Mode.BASIC, {"open_scenedet": True, "separate_vocal": False}) == {
        "open_scenedet": True,
        "separate_vocal": False,
    }


def test_submit_body_uses_the_service_names() -> None:
    request = SubmitTaskRequest.create("basic", V, A, {"open_scenedet": True})
    assert request.to_body() == {
        "req_key": "realman_change_lips_basic_chimera",
        "url": V,
        "pure_audio_url": A,
        "open_scenedet": True,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://b.s3.amazonaws.com/k%20ey.mp4?X-Amz-Credential=AK%2F2025&X-Amz-Signature=ab",
            "https://b.s3.amazonaws.com/k%20ey.mp4?X-Amz-Credential=AK%2F2025&X-Amz-Signature=ab",
        ),
        ("https://x.example/a b/ü.mp4", "https://x.example/a%20b/%C3%BC.mp4"),
        ("HTTPS://X.example:8443/v.mp4#frag", "https://x.example:8443/v.mp4"),
        ("http://127.0.0.1:9000/in/v.mp4", "http://127.0.0.1:9000/in/v.mp4"),
        ("https://x.example/p;a=1/(1)!*'.mp4?a=b:c@d", "https://x.example/p;a=1/(1)!*'.mp4?a=b:c@d"),
        ("http://[::1]:8080/v.mp4", "http://[::1]:8080/v.mp4"),
    ],
)
def test_urls_are_normalised_without_double_encoding(url: str, expected: str) -> None:
    assert normalise_input_url(url, field_name="video url") == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "video url is required"),
        ("s3://bucket/key.mp4", "scheme 's3'"),
        ("https:///v.mp4", "no host"),
        ("https://user:pw@x.example/v.mp4", "must not embed credentials"),
        ("https://x.example/v\n.mp4", "control characters"),
        ("https://x.example/" + "a" * 5000, "longer than"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(RequestValidationError, match=message):
        normalise_input_url(url, field_name="video url")


def test_req_json_is_a_json_string_of_aigc_meta() -> None:
    text = build_req_json({"producer_id": "p1", "content_propagator": "c1"})
    assert isinstance(text, str)
    assert json.loads(text) == {"aigc_meta": {"producer_id": "p1", "content_propagator": "c1"}}
    assert build_req_json(None) is None
    with pytest.raises(RequestValidationError, match="unknown aigc_meta field"):
        build_req_json({"producer": "x"})


def test_resp_data_is_parsed_leniently() -> None:
    assert parse_resp_data('{"progress": 40}') == {"progress": 40}
    assert parse_resp_data("not json") == {"raw": "not json"}
    assert parse_resp_data("") is None
    result = TaskResult("generating", None, {"progress": 40}, 10000, "Success", "r", None)
    assert result.progress == 40.0
    assert not result.is_finished
