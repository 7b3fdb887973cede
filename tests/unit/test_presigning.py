"""How long an input URL may live, and which failed tasks earn fresh URLs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from moto import mock_aws

from lipsync_core.jobs.access.presigning import (
    EXPIRY_MARGIN_SECONDS,
    SIGV4_MAX_SECONDS,
    could_not_fetch_input,
    lifetime,
)
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.context import EntryContext
from lipsync_core.jobs.entry.uploads import UploadRequest, upload_urls
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


def test_the_apis_urls_are_signed_by_a_role_session_and_say_how_long_they_live() -> None:
    # Given the API configured with its URL signer role (moto's STS answers real session credentials)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="url-signer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        settings = Settings.model_validate(
            {"JOB_TABLE_NAME": "jobs", "BUCKET_NAME": "media", "URL_SIGNER_ROLE_ARN": role}
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        context = EntryContext(store=None, settings=settings, s3=s3)  # type: ignore[arg-type]

        # When it hands out upload URLs, asking for an hour
        answer = upload_urls(UploadRequest(), context)

    # Then they are signed with the assumed session's token, not the function's own credentials, and the
    # answer says how long they really live: under the hour role chaining allows, never past the session
    query = parse_qs(urlparse(answer["video"]["upload_url"]).query)
    assert query["X-Amz-Security-Token"]
    assert query["X-Amz-Expires"] == [str(answer["expires_in"])]
    assert 3000 < answer["expires_in"] <= 3600 - EXPIRY_MARGIN_SECONDS
