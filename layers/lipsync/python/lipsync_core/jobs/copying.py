"""CopyResult: stream the service's video into S3 with a multipart upload, bounded in memory.

Each part carries a CRC32 checksum that S3 verifies; the whole object's SHA-256 is computed on what
arrived and its size checked; on any failure the upload is aborted, so no partial object or
orphaned parts remain. A result URL that expired is replaced by a fresh one from ``CVGetResult``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lipsync_core.volc import TaskResult, VolcClient

from . import metrics as m
from .errors import JobAlreadyFinishedError, OutputNotAllowedError, OutputTakenError, ResultDownloadError
from .events import succeeded_detail
from .flow_control import POLL, FlowControl
from .models import CopiedResult, JobRequest, JobState
from .result_url import ResultUrlExpiredError, UrlPolicy, open_result
from .settings import Settings
from .store import JobStore

READ_CHUNK = 1024 * 1024  # fewer, larger chunks: each is hashed and copied with the GIL released
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
# Parts uploading at once: S3 takes parts in parallel, and one at a time leaves the copy waiting on
# each part's round trip. Memory holds this many parts plus the one being filled.
PARTS_IN_FLIGHT = 4


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
    A key that is free passes; so does a 403, which is how S3 answers for a missing key a caller
    without ``s3:ListBucket`` asks about (the conditional write below still guards the copy)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "403", "NoSuchKey", "NotFound"):
            return
        raise
    if head.get("Metadata", {}).get("job-id") != job_id:
        raise OutputTakenError(f"s3://{bucket}/{key} already holds another job's result")


def write_once(s3: Any, bucket: str, key: str, job_id: str, write: Callable[..., Any]) -> None:
    """Call ``write`` with ``IfNoneMatch="*"`` (S3's conditional write, on PutObject and
    CompleteMultipartUpload) so that an object another job wrote is never replaced. Only when the
    object there names this job in its metadata (a retried step of the same job) is it rewritten."""
    try:
        write(IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
        refuse_taken_output(s3, bucket, key, job_id)
        write()


class _BrokeOffError(Exception):
    pass


def _received(response: Any) -> Iterator[bytes]:
    """The body's chunks; a failure to receive (and only that) becomes ``_BrokeOffError``."""
    chunks = response.stream(READ_CHUNK)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception as exc:  # urllib3 protocol errors, resets, timeouts
            raise _BrokeOffError(type(exc).__name__) from None
        yield chunk


def stream_to_s3(
    response: Any, s3: Any, bucket: str, key: str, *, part_bytes: int, metadata: dict[str, str]
) -> tuple[int, str]:
    """Upload the response body to ``bucket/key``; returns (size, sha256 hex). Aborts on failure.

    Download and upload overlap: up to ``PARTS_IN_FLIGHT`` full parts upload in threads of their own
    while this one gathers the next, so memory holds ``PARTS_IN_FLIGHT + 1`` parts. Each byte is copied
    once (from the received chunks into its part) and hashed once here for the whole-object SHA-256;
    the per-part checksum S3 verifies is computed by the thread that uploads the part.
    """
    part_bytes = max(part_bytes, MIN_PART_BYTES)
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType="video/mp4", ChecksumAlgorithm="CRC32", Metadata=metadata
    )
    upload_id = upload["UploadId"]
    parts: list[dict[str, Any]] = []

    def send(number: int, data: bytes) -> None:
        # CRC32 (S3's default) for the transfer of each part: a second SHA-256 pass would cost
        # more CPU than the rest of the copy, and the whole object's SHA-256 is computed anyway.
        checksum = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
            ChecksumCRC32=checksum,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": checksum})

    with ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="upload-part") as uploader:
        in_flight: deque[Future[None]] = deque()
        try:
            digest, size = hashlib.sha256(), 0
            pieces: list[memoryview] = []  # the part being gathered, as views of received chunks
            filled, number = 0, 0
            try:
                for chunk in _received(response):
                    digest.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        take = min(len(view), part_bytes - filled)
                        pieces.append(view[:take])
                        filled, view = filled + take, view[take:]
                        if filled == part_bytes:
                            number += 1
                            # join: the one copy of these bytes, into the part S3 receives
                            in_flight.append(uploader.submit(send, number, b"".join(pieces)))
                            pieces, filled = [], 0
                            if len(in_flight) >= PARTS_IN_FLIGHT:
                                in_flight.popleft().result()
            except _BrokeOffError as broke:
                raise ResultDownloadError(
                    f"the result download broke off after {size} bytes: {broke.args[0]}"
                ) from None
            finally:
                response.release_conn()
            declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) != size:
                raise ResultDownloadError(f"the result was cut short: {size} of {declared} bytes")
            if size == 0:
                raise ResultDownloadError("the result is empty")
            if filled or not number:
                in_flight.append(uploader.submit(send, number + 1, b"".join(pieces)))
            while in_flight:
                in_flight.popleft().result()
            parts.sort(key=lambda part: int(part["PartNumber"]))
            write_once(
                s3,
                bucket,
                key,
                metadata.get("job-id", ""),
                lambda **condition: s3.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **condition
                ),
            )
        except BaseException:
            # Let the parts in flight finish (their errors are this one's consequences), so the
            # abort leaves nothing behind.
            wait(in_flight)
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
    head = s3.head_object(Bucket=bucket, Key=key)
    if head["ContentLength"] != size:
        s3.delete_object(Bucket=bucket, Key=key)
        raise ResultDownloadError(f"S3 holds {head['ContentLength']} bytes, {size} were sent")
    return size, digest.hexdigest()


def copy_result(
    state: JobState,
    *,
    store: JobStore,
    volc: VolcClient,
    s3: Any,
    settings: Settings,
    flow: FlowControl | None = None,
    metrics: m.MetricsSink | None = None,
) -> dict[str, Any]:
    """Copy the result and write ``<key>.job.json`` beside it; returns the success event's detail."""
    metrics = metrics or m.NoMetrics()
    assert state.cursor is not None
    record = store.get(state.job_id)
    request = JobRequest.model_validate(record["request"], context={"allow_http": settings.allow_local_urls})
    bucket, key = output_location(state.job_id, request, settings)
    policy = UrlPolicy(allow_local=settings.allow_local_urls, allowed_hosts=settings.allowed_result_hosts)

    response = None
    # The poll that saw ``done`` passed its answer on; a URL that expired gets one fresh replacement.
    known = TaskResult(**state.cursor.result) if state.cursor.result else None
    for _ in range(2):
        if known is None:
            if flow is not None:
                flow.wait_for(POLL, request.mode)  # CVGetResult counts against the shared poll budget
            known = volc.get_result(request.mode, state.cursor.task_id, aigc_meta=request.aigc_meta)
        result = known
        if result.status != "done" or not result.video_url:
            raise ResultDownloadError(f"task {state.cursor.task_id} is {result.status}, not done")
        try:
            response = open_result(result.video_url, policy)
            break
        except ResultUrlExpiredError:
            known = None
    if response is None:
        raise ResultDownloadError("the result URL expired twice in a row")

    size, sha256 = stream_to_s3(
        response,
        s3,
        bucket,
        key,
        part_bytes=settings.copy_part_bytes,
        metadata={"job-id": state.job_id, "task-id": state.cursor.task_id},
    )
    meta = (result.resp_data or {}).get("video_meta") or {}
    document_key = key.removesuffix(".mp4") + ".job.json"
    copied = CopiedResult(
        bucket=bucket,
        key=key,
        size_bytes=size,
        sha256=sha256,
        job_document_key=document_key,
        duration_seconds=meta.get("duration"),
    )
    document = {
        "job_id": state.job_id,
        "mode": request.mode.value,
        "task_id": state.cursor.task_id,
        "attempt": state.cursor.attempt,
        "request": record["request"],
        "output": copied.model_dump(),
        "service": {"request_id": result.request_id, "resp_data": result.resp_data},
        "created_at": record["created_at"],
    }
    write_once(
        s3,
        bucket,
        document_key,
        state.job_id,
        lambda **condition: s3.put_object(
            Bucket=bucket,
            Key=document_key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
            Metadata={"job-id": state.job_id},
            **condition,
        ),
    )
    if not store.finish(state.job_id, "SUCCEEDED", output=copied.model_dump()):
        raise JobAlreadyFinishedError(f"job {state.job_id} ended while its result was copied")
    metrics.add_metric(m.SUCCEEDED, "Count", 1)
    metrics.add_metric(m.BYTES_COPIED, "Bytes", size)
    started = datetime.fromisoformat(record["created_at"]).timestamp()
    metrics.add_metric(m.PROCESSING_SECONDS, "Seconds", round(time.time() - started, 3))
    return succeeded_detail(state.job_id, record, copied, state.cursor)
