"""Input URLs the service can fetch: presigned afresh at every submission, for as long as the
credentials that sign them last.

A presigned URL stops working when the credentials that signed it expire, whatever its ``ExpiresIn``.
A Lambda function's own credentials carry no expiry it can read, so Submit assumes the stack's input
reader role and signs with that session: AWS returns the session's expiry, and the URL's lifetime is
cut to it. Assuming a role from a Lambda function is role chaining, which AWS limits to one hour.

The contract does not say when the service downloads the inputs; the emulator does it during
``CVSubmitTask``. Should the service fetch them later than the URLs live (a long ``in_queue``), it
reports a failed task that could not download its input; Poll then asks for a resubmission, which
presigns new URLs (bounded by the submission attempts). ``docs/architecture.md`` records this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.errors import InputNotFoundError
from lipsync_core.jobs.domain.models import JobRequest, MediaRef
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.volc import VolcError
from lipsync_core.volc.errors import INVALID_REQUEST_CODES

ROLE_CHAINING_MAX_SECONDS = 3600  # AssumeRole with a role session's credentials: at most one hour
SIGV4_MAX_SECONDS = 7 * 24 * 3600  # the longest X-Amz-Expires SigV4 accepts
EXPIRY_MARGIN_SECONDS = 60  # a URL expires a little before its credentials, never after


@dataclass(frozen=True)
class InputSigner:
    """Presigns GET URLs with ``s3`` (the signing credentials' client), valid for ``lifetime`` seconds."""

    s3: Any
    lifetime: int

    def url(self, ref: MediaRef) -> str:
        """The given https URL, or a presigned GET for an S3 object that exists and can be read."""
        if ref.url is not None:
            return ref.url
        assert ref.s3 is not None
        params = {"Bucket": ref.s3.bucket, "Key": ref.s3.key}
        if ref.s3.version_id:
            params["VersionId"] = ref.s3.version_id
        try:
            self.s3.head_object(**params)  # with the signing credentials: a URL they cannot honour fails now
        except ClientError as error:
            raise InputNotFoundError(
                f"{ref.s3.uri} cannot be read: {error.response['Error'].get('Code')}"
            ) from None
        return str(self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=self.lifetime))


def lifetime(wanted: int, credentials_expire_at: float | None, now: float) -> int:
    """Seconds a URL may live: what is wanted, cut to the signing credentials' remaining life."""
    seconds = min(wanted, SIGV4_MAX_SECONDS)
    if credentials_expire_at is not None:
        seconds = min(seconds, int(credentials_expire_at - now) - EXPIRY_MARGIN_SECONDS)
    if seconds <= 0:
        raise ValueError("the signing credentials expire before a URL could be used")
    return seconds


def input_signer(settings: Settings, s3: Any, *, job_id: str, sts: Any = None) -> InputSigner:
    """Signs with a fresh session of the input reader role when one is configured, else with ``s3``'s
    own credentials (the offline runtime), for ``settings.presign_seconds`` at most."""
    reader, expires_at = input_reader(settings, s3, job_id=job_id, sts=sts)
    return InputSigner(reader, lifetime(settings.presign_seconds, expires_at, time.time()))


def input_reader(settings: Settings, s3: Any, *, job_id: str, sts: Any = None) -> tuple[Any, float | None]:
    """An S3 client of a fresh input reader role session (and when its credentials expire), or ``s3``
    itself when no role is configured (the offline runtime)."""
    if not settings.input_reader_role_arn:
        return s3, None
    sts = sts or boto3.client("sts")
    answer = sts.assume_role(
        RoleArn=settings.input_reader_role_arn,
        RoleSessionName=f"inputs-{job_id}"[:64],
        DurationSeconds=ROLE_CHAINING_MAX_SECONDS,
    )
    credentials = answer["Credentials"]
    reader = boto3.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=Config(signature_version="s3v4"),
    )
    return reader, credentials["Expiration"].timestamp()


def has_presigned_inputs(request: JobRequest) -> bool:
    return request.video.s3 is not None or request.audio.s3 is not None


def could_not_fetch_input(error: VolcError, request: JobRequest) -> bool:
    """A task that failed because the service could not download an input we presigned: fresh URLs
    may succeed. The contract names no code for it; the service reports it as an invalid argument
    whose message says it could not download (as the emulator does)."""
    invalid = isinstance(error.code, int) and error.code in INVALID_REQUEST_CODES
    return invalid and "download" in error.message.lower() and has_presigned_inputs(request)
