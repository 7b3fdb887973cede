"""How long an input URL may live, and which failed tasks earn fresh URLs."""

from __future__ import annotations

import pytest

from lipsync_core.jobs.access.presigning import (
    EXPIRY_MARGIN_SECONDS,
    SIGV4_MAX_SECONDS,
    could_not_fetch_input,
    lifetime,
)
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.volc import VolcTaskFailedError

NOW = 1_700_000_000.0


def test_a_url_never_outlives_its_credentials() -> None:
    assert lifetime(6 * 3600, NOW + 3600, NOW) == 3600 - EXPIRY_MARGIN_SECONDS
    assert lifetime(600, NOW + 3600, NOW) == 600
    assert lifetime(30 * 24 * 3600, None, NOW) == SIGV4_MAX_SECONDS


def test_credentials_about_to_expire_are_refused() -> None:
    with pytest.raises(ValueError, match="expire"):
        lifetime(3600, NOW + EXPIRY_MARGIN_SECONDS, NOW)


def request(video: str) -> JobRequest:
    return JobRequest.model_validate({"mode": "lite", "video": video, "audio": "https://example.com/a.wav"})


@pytest.mark.parametrize(
    ("code", "message", "video", "expected"),
    [
        (50200, "cannot download video url: HTTP 403", "s3://bucket/inputs/v.mp4", True),
        (50200, "cannot download video url: HTTP 403", "https://example.com/v.mp4", False),  # theirs
        (50210, "video decode error", "s3://bucket/inputs/v.mp4", False),
        (50413, "Post Text Risk Not Pass", "s3://bucket/inputs/v.mp4", False),
        (50500, "download failed", "s3://bucket/inputs/v.mp4", False),  # not an invalid-argument code
    ],
)
def test_only_a_download_failure_of_our_own_urls_is_resubmitted(
    code: int, message: str, video: str, expected: bool
) -> None:
    error = VolcTaskFailedError(f"CVGetResult: {message}", code=code)
    assert could_not_fetch_input(error, request(video)) is expected
