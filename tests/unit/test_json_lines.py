"""Batches read as JSON Lines says (jsonlines.org): UTF-8, each line a JSON value, lines separated by
'\\n' (so '\\r\\n' works, JSON whitespace being ignored), a final separator starting no new value, no
byte order mark, and lines numbered as an editor numbers them. Written from the spec: each case is a
text the spec calls valid (or not), and what a reader must make of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.errors import RequestRejectedError
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry import batches

REQUEST = {"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav"}


def line(**meta: str) -> str:
    """A request as another tool may write it: non-ASCII characters as they are, not escaped."""
    request = {**REQUEST, "aigc_meta": meta} if meta else REQUEST
    return json.dumps(request, ensure_ascii=False)


def read(text: str, store: JobStore) -> tuple[list[int], list[dict[str, Any]]]:
    settings = Settings.model_validate({"JOB_TABLE_NAME": "jobs", "EVENT_BUS_NAME": "lipsync"})
    batch_id = batches.batch_id_for("unit", text)
    summary, valid, _ = batches.register_batch(text, batch_id=batch_id, store=store, settings=settings)
    return list(valid), summary["line_errors"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_a_line_break_that_is_not_newline_stays_inside_its_value(store: JobStore, separator: str) -> None:
    # U+2028, U+2029 and U+0085 are allowed unescaped in a JSON string; only '\n' ends a line.
    text = "\n".join([line(content_producer=f"studio{separator}one"), line(), line()])
    valid, errors = read(text, store)
    assert (valid, errors) == ([1, 2, 3], [])


def test_a_carriage_return_inside_a_line_is_json_whitespace(store: JobStore) -> None:
    # '\r' between tokens is JSON whitespace; it does not end the line ("\r\n" works for that reason).
    pretty = json.dumps(REQUEST, separators=(",\r ", ": "))
    valid, errors = read(f"{pretty}\r\n{line()}\r\n", store)
    assert (valid, errors) == ([1, 2], [])


def test_a_final_newline_starts_no_value_and_numbers_are_an_editors(store: JobStore) -> None:
    text = f"{line()}\n{{broken\n{line()}\n"
    valid, errors = read(text, store)
    assert valid == [1, 3]
    assert [error["line"] for error in errors] == [2]


def test_a_line_that_is_not_json_per_the_json_spec_is_reported(store: JobStore) -> None:
    # NaN is Python's extension, not a JSON value.
    text = "\n".join([line(), '{"mode": "lite", "video": NaN}'])
    valid, errors = read(text, store)
    assert valid == [1]
    assert errors[0]["line"] == 2
    assert "not valid JSON" in errors[0]["reason"]


def test_a_byte_order_mark_is_refused_with_a_reason(store: JobStore) -> None:
    with pytest.raises(RequestRejectedError, match="byte order mark"):
        read("\ufeff" + line(), store)
