"""Where a job's result goes, and the rule that keeps it the job's own: only the stack's bucket under
the output prefix, and never over an object another job wrote (S3 conditional writes).

Intake refuses an output outside the prefix, Submit refuses a key another job holds before paying,
and CopyResult writes with ``write_once``; this module is the one place that decides all three.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.errors import OutputNotAllowedError, OutputTakenError, SdkTooOldError
from lipsync_core.jobs.domain.models import JobRequest
from lipsync_core.jobs.domain.settings import Settings

CONFLICT_RETRIES = 4
CONFLICT_BACKOFF_SECONDS = 0.2


def output_location(job_id: str, request: JobRequest, settings: Settings) -> tuple[str, str]:
    """Where the result goes. Only the stack's bucket under the output prefix can be written (that is
    all CopyResult may touch), so anything else is refused here, before a task is paid for."""
    output = request.output
    bucket = (output.bucket if output and output.bucket else None) or settings.bucket_name
    key = (output.key if output and output.key else None) or f"{settings.output_prefix}{job_id}.mp4"
    if bucket != settings.bucket_name or not key.startswith(settings.output_prefix):
        raise OutputNotAllowedError(
            f"output must be in s3://{settings.bucket_name}/{settings.output_prefix}..., not s3://{bucket}/{key}"
        )
    return bucket, key


def refuse_taken_output(s3: Any, bucket: str, key: str, job_id: str) -> None:
    """``OutputTakenError`` when ``key`` holds an object that does not name this job in its metadata.
    A free key is a 404: the callers hold ``s3:ListBucket`` so that S3 says so (without it S3 answers
    403 for a missing key). A 403 is therefore a denial and raises: the check must not pass blind."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return
        raise
    if head.get("Metadata", {}).get("job-id") != job_id:
        raise OutputTakenError(f"s3://{bucket}/{key} already holds another job's result")


# The conditional writes results rely on, and where botocore must know them: the Lambda runtime brings
# its own boto3, whose version the stack does not choose (S3 added IfNoneMatch in August 2024).
CONDITIONAL_WRITES = ("PutObject", "CompleteMultipartUpload")


def require_conditional_writes(s3: Any) -> None:
    """``SdkTooOldError`` unless ``s3``'s botocore sends ``IfNoneMatch`` on every write results use:
    Submit checks before paying, so an old runtime SDK fails a job unpaid, never after the work."""
    model = s3.meta.service_model
    missing = [
        op for op in CONDITIONAL_WRITES if "IfNoneMatch" not in model.operation_model(op).input_shape.members
    ]
    if missing:
        import botocore

        raise SdkTooOldError(
            f"botocore {botocore.__version__} cannot send IfNoneMatch on {', '.join(missing)}; "
            "results need S3 conditional writes (a botocore from late August 2024 or later)"
        )


def write_once(
    s3: Any,
    bucket: str,
    key: str,
    job_id: str,
    write: Callable[..., Any],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call ``write`` with ``IfNoneMatch="*"`` (S3's conditional write, on PutObject and
    CompleteMultipartUpload) so that an object another job wrote is never replaced. Only when the
    object there names this job in its metadata (a retried step of the same job) is it rewritten.

    S3 answers 409 ``ConditionalRequestConflict`` while another conditional write to the key is in
    flight and says to retry (botocore does not): the write is repeated a few times, then the error
    stands (the state machine's retry of the step takes over)."""
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            write(IfNoneMatch="*")
            return
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ConditionalRequestConflict" and attempt < CONFLICT_RETRIES:
                sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt)
                continue
            if code != "PreconditionFailed":
                raise
            refuse_taken_output(s3, bucket, key, job_id)
            write()
            return


def document_key(result_key: str) -> str:
    """``<key>.job.json``, beside the result: what made it."""
    return result_key.removesuffix(".mp4") + ".job.json"


def write_job_document(s3: Any, bucket: str, key: str, job_id: str, document: dict[str, Any]) -> None:
    """The job's document at ``key``, written once as its result is."""
    write_once(
        s3,
        bucket,
        key,
        job_id,
        lambda **condition: s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
            Metadata={"job-id": job_id},
            **condition,
        ),
    )
