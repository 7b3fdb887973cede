"""CopyResult: stream the service's video into S3 with a multipart upload, bounded in memory.

Each part carries a SHA-256 checksum that S3 verifies; the whole object's SHA-256 and size are
checked against what arrived; on any failure the upload is aborted, so no partial object or
orphaned parts remain. A result URL that expired is replaced by a fresh one from ``CVGetResult``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

from lipsync_core.volc import VolcClient

from . import metrics as m
from .errors import JobAlreadyFinishedError, OutputNotAllowedError, ResultDownloadError
from .events import succeeded_detail
from .models import CopiedResult, JobRequest, JobState
from .result_url import ResultUrlExpiredError, UrlPolicy, open_result
from .settings import Settings
from .store import JobStore

READ_CHUNK = 1024 * 1024  # fewer, larger chunks: each is hashed and copied with the GIL released
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last


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


def stream_to_s3(
    response: Any, s3: Any, bucket: str, key: str, *, part_bytes: int, metadata: dict[str, str]
) -> tuple[int, str]:
    """Upload the response body to ``bucket/key``; returns (size, sha256 hex). Aborts on failure.

    Download and upload overlap: one thread uploads a full part while this one fills the next, so
    memory holds two parts. Each byte is copied once (from the socket's chunk into the part) and
    hashed once for the whole-object SHA-256, here, beside the upload; the per-part checksum S3
    verifies is computed by the uploading thread.
    """
    part_bytes = max(part_bytes, MIN_PART_BYTES)
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType="video/mp4", ChecksumAlgorithm="SHA256", Metadata=metadata
    )
    upload_id = upload["UploadId"]
    parts: list[dict[str, Any]] = []

    def send(number: int, data: bytes | bytearray) -> None:
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        answer = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

    with ThreadPoolExecutor(1, thread_name_prefix="upload-part") as uploader:
        pending: Future[None] | None = None
        try:
            digest, size = hashlib.sha256(), 0
            buffers = [bytearray(part_bytes), bytearray(part_bytes)]
            filled, number = 0, 0
            try:
                for chunk in response.stream(READ_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        take = min(len(view), part_bytes - filled)
                        buffers[0][filled : filled + take] = view[:take]
                        filled, view = filled + take, view[take:]
                        if filled == part_bytes:
                            if pending is not None:
                                pending.result()  # the other buffer is free once its part is up
                            number += 1
                            pending = uploader.submit(send, number, buffers[0])
                            buffers.reverse()
                            filled = 0
            except Exception as exc:  # urllib3 protocol errors, resets, timeouts
                raise ResultDownloadError(
                    f"the result download broke off after {size} bytes: {type(exc).__name__}"
                ) from None
            finally:
                response.release_conn()
            declared = response.headers.get("Content-Length")
            if declared is not None and int(declared) != size:
                raise ResultDownloadError(f"the result was cut short: {size} of {declared} bytes")
            if size == 0:
                raise ResultDownloadError("the result is empty")
            if pending is not None:
                pending.result()
                pending = None
            if filled or not number:
                send(number + 1, bytes(buffers[0][:filled]))
            s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if pending is not None:  # let a part in flight finish, so the abort leaves nothing behind
                wait([pending])
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
    for _ in range(2):  # a URL that expired gets one fresh replacement
        result = volc.get_result(request.mode, state.cursor.task_id, aigc_meta=request.aigc_meta)
        if result.status != "done" or not result.video_url:
            raise ResultDownloadError(f"task {state.cursor.task_id} is {result.status}, not done")
        try:
            response = open_result(result.video_url, policy)
            break
        except ResultUrlExpiredError:
            continue
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
    s3.put_object(
        Bucket=bucket,
        Key=document_key,
        Body=json.dumps(document, indent=2).encode(),
        ContentType="application/json",
    )
    if not store.finish(state.job_id, "SUCCEEDED", output=copied.model_dump()):
        raise JobAlreadyFinishedError(f"job {state.job_id} ended while its result was copied")
    metrics.add_metric(m.SUCCEEDED, "Count", 1)
    metrics.add_metric(m.BYTES_COPIED, "Bytes", size)
    started = datetime.fromisoformat(record["created_at"]).timestamp()
    metrics.add_metric(m.PROCESSING_SECONDS, "Seconds", round(time.time() - started, 3))
    return succeeded_detail(state.job_id, record, copied, state.cursor)
