"""Intake against hostile values, without AWS: whatever arrives, it is either a request that DynamoDB,
EventBridge and the logs can hold, or a rejection naming the fields, never another exception.

Property-based (Hypothesis) over JSON values, strings and keys; the examples are bounded so that the
module stays quick."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lipsync_core.jobs.access.dynamo import to_dynamo
from lipsync_core.jobs.domain.documents import MAX_REQUEST_BYTES, check_document, parse_document
from lipsync_core.jobs.domain.errors import DocumentRejectedError, DocumentTooLargeError, RequestRejectedError
from lipsync_core.jobs.domain.sanitise import sanitise
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.requests import parse_request

SETTINGS = Settings.from_env({"JOB_TABLE_NAME": "jobs", "BUCKET_NAME": "media-bucket"})
VALID = {
    "mode": "lite",
    "video": "https://media.example/face.mp4",
    "audio": {"s3": {"bucket": "media-bucket", "key": "inputs/voice.wav"}},
}
T = TypeVar("T")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any character, lone surrogates and controls included.
hostile_text = st.text(st.characters(exclude_categories=()), max_size=40)
numbers = st.one_of(
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e200, -1e308, 1e-200, 5e-324, 10**40, 0.1]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=20,
)
FIELDS = [
    ("mode",),
    ("video",),
    ("audio",),
    ("audio", "s3", "key"),
    ("audio", "s3", "version_id"),
    ("options",),
    ("options", "templ_start_seconds"),
    ("options", "separate_vocal"),
    ("aigc_meta",),
    ("aigc_meta", "content_producer"),
    ("output",),
    ("output", "key"),
    ("job_id",),
]


def with_value(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    request: dict[str, Any] = json.loads(json.dumps(VALID))
    target = request
    for name in path[:-1]:
        if not isinstance(target.get(name), dict):
            target[name] = {}
        target = target[name]
    target[path[-1]] = value
    return request


def attempt(call: Callable[[], T]) -> T | RequestRejectedError | DocumentRejectedError:
    """The result, or the rejection (the only exceptions allowed), to assert on either."""
    try:
        return call()
    except (RequestRejectedError, DocumentRejectedError) as error:
        return error


def assert_accepted_or_rejected_cleanly(raw: Any) -> None:
    request = attempt(lambda: parse_request(raw, SETTINGS))
    assert not isinstance(request, DocumentRejectedError)
    if isinstance(request, RequestRejectedError):
        assert request.errors, "a rejection names at least one field"
        for item in request.errors:
            assert set(item) == {"field", "message"}
            assert item["field"]
            assert item["message"]
        # What a rejection says can be logged, stored as a report and sent on EventBridge.
        json.dumps({"reason": request.reason, "errors": request.errors}, ensure_ascii=False).encode("utf-8")
        return
    assert_storable(request.model_dump(mode="json", exclude_none=True))


def assert_storable(value: Any) -> None:
    TypeSerializer().serialize(to_dynamo(value))  # raises on numbers DynamoDB cannot hold
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert len(text.encode("utf-8")) <= MAX_REQUEST_BYTES  # raises on lone surrogates


@FAST
@given(json_values)
def test_any_json_value_is_accepted_storable_or_rejected_with_fields(raw: Any) -> None:
    assert_accepted_or_rejected_cleanly(raw)


@FAST
@given(json_values)
def test_a_value_that_passes_the_structural_check_is_storable(raw: Any) -> None:
    outcome = attempt(lambda: check_document(raw))
    if isinstance(outcome, DocumentRejectedError):
        assert outcome.field
    else:
        assert_storable(raw)


@FAST
@given(st.sampled_from(FIELDS), json_values)
def test_any_value_in_any_field_is_accepted_storable_or_rejected(path: tuple[str, ...], value: Any) -> None:
    assert_accepted_or_rejected_cleanly(with_value(path, value))


@FAST
@given(st.lists(st.sampled_from(["a", "b.mp4", ".", "..", "", " ", "\x00", "\x7f", "é", "%2e"]), max_size=5))
def test_an_accepted_output_key_is_normalised(segments: list[str]) -> None:
    key = "/".join(["outputs", *segments]) + ".mp4"
    request = attempt(lambda: parse_request(with_value(("output", "key"), key), SETTINGS))
    if isinstance(request, RequestRejectedError):
        assert request.errors[0]["field"].startswith("output")
        return
    assert not isinstance(request, DocumentRejectedError)
    assert request.output is not None
    assert request.output.key == posixpath.normpath(key)
    assert all(ch.isprintable() for ch in key)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"separate_vocal": "yes"}, "options"),
        ({"separate_vocal": 0}, "options"),
        ({"templ_start_seconds": "2.5"}, "options"),
        ({"templ_start_seconds": 10**30}, "options"),
        ({"templ_start_seconds": [1]}, "options"),
    ],
)
def test_options_are_strictly_typed_and_bounded(value: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestRejectedError) as caught:
        parse_request(with_value(("options",), value), SETTINGS)
    assert [e["field"] for e in caught.value.errors] == [field]


@pytest.mark.parametrize("job_id", ["api-0123", "API-x", "s3-abc", "S3-abc", "eb-1", "Eb-event"])
def test_a_caller_cannot_take_a_derived_job_id(job_id: str) -> None:
    with pytest.raises(RequestRejectedError) as caught:
        parse_request(with_value(("job_id",), job_id), SETTINGS)
    assert caught.value.errors[0]["field"] == "job_id"


def test_a_caller_may_choose_other_ids() -> None:
    assert parse_request(with_value(("job_id",), "apis-1_s3"), SETTINGS).job_id == "apis-1_s3"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"mode": "lite", "aigc_meta": {"content_producer": "p" * 5000}}, "aigc_meta.content_producer"),
        ({"options": {"x" * 100: True}}, "options.xxxx"),
        ({"a": [[[[[[[[[]]]]]]]]]}, "a[0][0][0][0][0][0][0]"),
        ({"video": "\udfff"}, "video"),
        ({"n": 1e130}, "n"),
        ({"n": 12345678901234567890123456789012345678901}, "n"),
        ({"many": ["x" * 4000] * 5}, "(request)"),
    ],
)
def test_the_structural_check_names_the_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        check_document(document)
    assert caught.value.field.startswith(field)


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_rejected_as_a_document(data: bytes) -> None:
    outcome = attempt(lambda: parse_document(data))
    if isinstance(outcome, DocumentRejectedError):
        assert outcome.field == "(body)"


def test_parse_document_limits_size_and_depth() -> None:
    with pytest.raises(DocumentTooLargeError):
        parse_document(b" " * 70_000)
    with pytest.raises(DocumentRejectedError, match="nested too deeply"):
        parse_document("[" * 100_000 + "]" * 100_000, max_bytes=300_000)
    with pytest.raises(DocumentRejectedError, match="not valid UTF-8"):
        parse_document(b'{"a": "\xff"}')


@pytest.mark.parametrize(
    ("message", "kept", "gone"),
    [
        (
            "cannot decode the video: [Errno 1094995529] Invalid data found when processing input: "
            "'/tmp/lipsync-emulator-k2j/9f/video.mp4' (code=50207, http_status=200, request_id=r-1)",
            ["cannot decode the video", "Invalid data found", "code=50207"],
            ["/tmp", "lipsync-emulator-k2j"],
        ),
        (
            "fetch failed: https://bucket.s3.amazonaws.com/inputs/a.mp4?X-Amz-Signature=abc123&X-Amz-Credential=AK",
            ["fetch failed", "https://bucket.s3.amazonaws.com"],
            ["X-Amz-Signature", "abc123", "inputs/a.mp4"],
        ),
        (
            'boom\nTraceback (most recent call last):\n  File "C:\\srv\\app.py", line 3\nValueError: x',
            ["boom"],
            ["app.py", "Traceback (most recent call last)", "\n"],
        ),
        ("object at 0x7f3a2b1c9d80 failed", ["failed"], ["0x7f3a2b1c9d80"]),
    ],
)
def test_sanitised_errors_keep_their_meaning_and_lose_internals(
    message: str, kept: list[str], gone: list[str]
) -> None:
    clean = sanitise(message)
    for text in kept:
        assert text in clean
    for text in gone:
        assert text not in clean


@FAST
@given(hostile_text, st.integers(min_value=10, max_value=300))
def test_sanitised_errors_are_bounded_single_line_utf8(message: str, limit: int) -> None:
    clean = sanitise(message * 20, limit)
    assert len(clean) <= limit
    assert "\n" not in clean
    clean.encode("utf-8")
