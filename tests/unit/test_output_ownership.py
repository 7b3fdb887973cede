"""Outputs belong to their job: S3's conditional write (``If-None-Match: *``, through moto) never
replaces another job's object, and the check before paying refuses such a key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from lipsync_core.jobs.access.outputs import refuse_taken_output, require_conditional_writes, write_once
from lipsync_core.jobs.domain.errors import OutputTakenError, SdkTooOldError

BUCKET = "media-bucket"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="outputs/a.mp4", Body=b"a's", Metadata={"job-id": "job-a"})
        client.put_object(Bucket=BUCKET, Key="outputs/mine.mp4", Body=b"someone's")
        yield client


def put(s3: Any, key: str, body: bytes, job_id: str) -> None:
    write_once(
        s3,
        BUCKET,
        key,
        job_id,
        lambda **condition: s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, Metadata={"job-id": job_id}, **condition
        ),
    )


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_another_jobs_object_is_never_replaced(s3: Any) -> None:
    with pytest.raises(OutputTakenError, match=r"outputs/a\.mp4"):
        put(s3, "outputs/a.mp4", b"b's", "job-b")
    with pytest.raises(OutputTakenError):
        put(s3, "outputs/mine.mp4", b"b's", "job-b")  # no job wrote it: not ours either
    assert (body(s3, "outputs/a.mp4"), body(s3, "outputs/mine.mp4")) == (b"a's", b"someone's")


def test_a_free_key_is_written_and_a_retry_of_the_same_job_rewrites_it(s3: Any) -> None:
    put(s3, "outputs/new.mp4", b"first", "job-c")
    put(s3, "outputs/new.mp4", b"second", "job-c")
    put(s3, "outputs/a.mp4", b"a again", "job-a")
    assert (body(s3, "outputs/new.mp4"), body(s3, "outputs/a.mp4")) == (b"second", b"a again")


def test_the_check_before_paying(s3: Any) -> None:
    refuse_taken_output(s3, BUCKET, "outputs/free.mp4", "job-b")
    refuse_taken_output(s3, BUCKET, "outputs/a.mp4", "job-a")
    with pytest.raises(OutputTakenError):
        refuse_taken_output(s3, BUCKET, "outputs/a.mp4", "job-b")


class _Empty:
    """A raw HTTP body with nothing in it (what a HEAD answer carries)."""

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        return iter(())


def test_a_denied_look_at_the_output_key_is_an_error_not_a_free_key(s3: Any) -> None:
    # Given S3 answering 403, as it does to a caller without permission (or, for a missing key,
    # without s3:ListBucket)
    def denied(request: Any, **_: Any) -> Any:
        return AWSResponse(request.url, 403, {}, _Empty())

    s3.meta.events.register_first("before-send.s3.HeadObject", denied)
    try:
        # Then the check before paying fails instead of passing blind
        with pytest.raises(ClientError, match="403"):
            refuse_taken_output(s3, BUCKET, "outputs/free.mp4", "job-b")
    finally:
        s3.meta.events.unregister("before-send.s3.HeadObject", denied)


def test_a_conditional_write_conflict_is_retried_as_s3_asks(s3: Any) -> None:
    # Given S3 answering 409 ConditionalRequestConflict twice (another conditional write in flight)
    answers = iter(["ConditionalRequestConflict", "ConditionalRequestConflict"])
    slept: list[float] = []

    def write(**condition: Any) -> Any:
        code = next(answers, None)
        if code:
            raise ClientError({"Error": {"Code": code, "Message": "try again"}}, "PutObject")
        return s3.put_object(
            Bucket=BUCKET, Key="outputs/c.mp4", Body=b"c", Metadata={"job-id": "c"}, **condition
        )

    # When the result is written once
    write_once(s3, BUCKET, "outputs/c.mp4", "c", write, sleep=slept.append)

    # Then it was written after two growing pauses
    assert body(s3, "outputs/c.mp4") == b"c"
    assert len(slept) == 2
    assert slept[1] > slept[0]


def test_a_runtime_sdk_without_conditional_writes_is_refused_before_paying(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pinned botocore sends IfNoneMatch on both writes results use
    require_conditional_writes(s3)
    # Given a botocore that predates S3's conditional writes (its CompleteMultipartUpload lacks it)
    model = s3.meta.service_model
    original = model.operation_model

    def older(name: str) -> Any:
        operation = original(name)
        if name == "CompleteMultipartUpload":
            members = {k: v for k, v in operation.input_shape.members.items() if k != "IfNoneMatch"}
            monkeypatch.setattr(type(operation.input_shape), "members", property(lambda _: members))
        return operation

    monkeypatch.setattr(model, "operation_model", older)
    # Then the check says which operation and which version is needed
    with pytest.raises(SdkTooOldError, match=r"CompleteMultipartUpload.*August 2024"):
        require_conditional_writes(s3)
