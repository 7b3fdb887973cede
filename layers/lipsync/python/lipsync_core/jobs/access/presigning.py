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
    """Presigns URLs with ``s3`` (the signing credentials' client), valid for ``lifetime`` seconds."""

    s3: Any
    lifetime: int

    def presign(self, operation: str, params: dict[str, Any]) -> str:
        return str(self.s3.generate_presigned_url(operation, Params=params, ExpiresIn=self.lifetime))

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
        return self.presign("get_object", params)


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
    return session_signer(
        settings.input_reader_role_arn, f"inputs-{job_id}", settings.presign_seconds, s3=s3, sts=sts
    )


def input_reader(settings: Settings, s3: Any, *, job_id: str, sts: Any = None) -> tuple[Any, float | None]:
    """An S3 client of a fresh input reader role session (and when its credentials expire), or ``s3``
    itself when no role is configured (the offline runtime)."""
    return session_client(settings.input_reader_role_arn, f"inputs-{job_id}", s3=s3, sts=sts)


def url_signer(settings: Settings, s3: Any, wanted: int, *, sts: Any = None) -> InputSigner:
    """The API's upload and result URLs, signed by a fresh session of the URL signer role: they live
    what is wanted or what the session allows (role chaining: under an hour), and the answer says so."""
    return session_signer(settings.url_signer_role_arn, "api-urls", wanted, s3=s3, sts=sts)


def session_signer(role_arn: str, session: str, wanted: int, *, s3: Any, sts: Any = None) -> InputSigner:
    """A signer on a new session of ``role_arn`` (``s3`` itself when there is no role to assume)."""
    client, expires_at = session_client(role_arn, session, s3=s3, sts=sts)
    return InputSigner(client, lifetime(wanted, expires_at, time.time()))


def session_client(role_arn: str, session: str, *, s3: Any, sts: Any = None) -> tuple[Any, float | None]:
    """An S3 client on a new session of ``role_arn`` and when that session ends (``s3`` and None when
    there is no role to assume)."""
    if not role_arn:
        return s3, None
    sts = sts or boto3.client("sts")
    answer = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session[:64], DurationSeconds=ROLE_CHAINING_MAX_SECONDS
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


def refused_input(field: str, ref: MediaRef, settings: Settings) -> str | None:
    """Why an S3 input cannot be signed (None: it can). The input reader role reads only the stack's
    bucket, and never under the output prefix: another job's result is no one's input."""
    if ref.s3 is None or not settings.bucket_name:
        return None
    if ref.s3.bucket != settings.bucket_name:
        return (
            f"{field} must be in the stack's bucket s3://{settings.bucket_name}/, not s3://{ref.s3.bucket}/"
        )
    if ref.s3.key.startswith(settings.output_prefix):
        return f"{field} cannot be under {settings.output_prefix} (results are not inputs)"
    return None


def has_presigned_inputs(request: JobRequest) -> bool:
    return request.video.s3 is not None or request.audio.s3 is not None


def could_not_fetch_input(error: VolcError, request: JobRequest) -> bool:
    """A task that failed because the service could not download an input we presigned: fresh URLs
    may succeed. The contract names no code for it; the service reports it as an invalid argument
    whose message says it could not download (as the emulator does)."""
    invalid = isinstance(error.code, int) and error.code in INVALID_REQUEST_CODES
    return invalid and "download" in error.message.lower() and has_presigned_inputs(request)
