"""The job record stays far below DynamoDB's 400 KB item limit whatever a caller sends and however the
job goes on: the largest request intake accepts, every attempt the workflow may pay for, a status
change after each, and the longest failure a service can describe (DynamoDB through moto)."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.domain.documents import MAX_AIGC_META_CHARS, MAX_STRING_CHARS
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.requests import parse_request
from lipsync_core.jobs.steps.record_failure import describe_failure

SETTINGS = Settings.from_env({"JOB_TABLE_NAME": "jobs", "BUCKET_NAME": "media-bucket"})
FAR_BELOW = 64 * 1024


def item_bytes(item: dict[str, Any]) -> int:
    """An upper bound of DynamoDB's item size: the typed item as JSON (names and values included)."""
    typed = {name: TypeSerializer().serialize(value) for name, value in item.items()}
    return len(json.dumps(typed, ensure_ascii=False).encode("utf-8"))


def test_the_largest_accepted_job_stays_far_below_the_item_limit(store: JobStore) -> None:
    url = "https://media.example/" + "é" * 678  # percent-encoded to the longest URL accepted
    largest = {
        "mode": "lite",
        "video": url,
        "audio": url + "a",
        "options": {"separate_vocal": True, "align_audio": True, "templ_start_seconds": 86_399.999},
        "aigc_meta": dict.fromkeys(("content_producer", "producer_id"), "界" * MAX_AIGC_META_CHARS),
        "output": {"key": "outputs/" + "k" * 988 + ".mp4"},
        "job_id": "j" * 80,
    }
    request = parse_request(largest, SETTINGS)
    assert request.video.url is not None
    assert MAX_STRING_CHARS - 100 < len(request.video.url) <= MAX_STRING_CHARS
    store.create("j" * 80, request, execution_arn="arn:" + "x" * 200)
    for attempt in range(1, SETTINGS.max_attempts + 1):
        assert store.claim_attempt("j" * 80, attempt)
        store.record_submission("j" * 80, attempt, "t" * 64, "r" * 64, deadline_epoch=2**31)
        store.record_poll("j" * 80, "generating", 0.5, attempt, "SUBMITTED")
    cause = json.dumps({"errorType": "VolcTaskFailedError" * 50, "errorMessage": "/tmp/x " * 100_000})
    assert store.finish("j" * 80, "FAILED", error=describe_failure("VolcTaskFailedError", cause))
    size = item_bytes(store.table.get_item(Key={"job_id": "j" * 80})["Item"])
    assert size < FAR_BELOW
