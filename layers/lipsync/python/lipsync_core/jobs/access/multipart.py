"""A result streamed into S3 with a multipart upload, bounded in memory.

Each part carries a CRC32 checksum that S3 verifies; the whole object's SHA-256 is computed on what
arrived and its size checked; on any failure the upload is aborted, so no partial object or
orphaned parts remain. The upload completes with ``outputs.write_once``.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from lipsync_core.jobs.domain.errors import ResultDownloadError

from .outputs import write_once

READ_CHUNK = 1024 * 1024  # fewer, larger chunks: each is hashed and copied with the GIL released
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
# Parts uploading at once: S3 takes parts in parallel, and one at a time leaves the copy waiting on
# each part's round trip. Memory holds this many parts plus the one being filled.
PARTS_IN_FLIGHT = 4


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

    # Parts upload in the caller's context (a host that keeps credentials per context, as the local
    # runtime does per function, then signs them as the caller).
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
                            in_flight.append(
                                uploader.submit(
                                    contextvars.copy_context().run, send, number, b"".join(pieces)
                                )
                            )
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
                in_flight.append(
                    uploader.submit(contextvars.copy_context().run, send, number + 1, b"".join(pieces))
                )
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


class _FileBody:
    """A local file read as ``stream_to_s3`` reads a response (the join's result)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.headers = {"Content-Length": str(path.stat().st_size)}

    def stream(self, amount: int) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            while chunk := file.read(amount):
                yield chunk

    def release_conn(self) -> None:
        return None


def upload_file(
    path: Path, s3: Any, bucket: str, key: str, *, part_bytes: int, metadata: dict[str, str]
) -> tuple[int, str]:
    """``path`` uploaded as a result is (checksummed parts, written once, nothing partial left)."""
    return stream_to_s3(_FileBody(path), s3, bucket, key, part_bytes=part_bytes, metadata=metadata)
