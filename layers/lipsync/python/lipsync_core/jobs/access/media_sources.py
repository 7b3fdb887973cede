"""The inputs as seekable files read in ranges (``lipsync_core.media.ranged``): an S3 object through
``GetObject`` with ``Range`` (with the input reader role's session, which alone may read inputs), or an
https URL through ``Range`` requests on the SSRF-checked, pinned connection result URLs use. A server
that ignores ``Range`` (it answers 200 with the whole body) is read once into a temporary file, up to
``UNRANGED_MAX_BYTES``, and ranges are then read from that file."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import urllib3
from botocore.exceptions import ClientError

from lipsync_core.jobs.domain.errors import InputUnreadableError, ResultDownloadError, ResultUrlRejectedError
from lipsync_core.jobs.domain.models import MediaRef
from lipsync_core.media.ranged import BLOCK_BYTES, RangedReader

from .result_urls import UrlPolicy, pinned_request

COPY_BLOCK_BYTES = 8 * 1024 * 1024  # reading a whole input: few, large requests
# A server without ranges sends the whole input to learn anything of it: kept in /tmp (Prepare has 4 GB),
# up to twice the largest input the service is recommended (100 MB video), with room to convert it.
UNRANGED_MAX_BYTES = 1024 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (?:\d+-\d+|\*)/(?P<size>\d+)$")


def open_input(ref: MediaRef, *, s3: Any, policy: UrlPolicy, block_bytes: int = BLOCK_BYTES) -> RangedReader:
    """``ref`` as a ranged reader; ``InputUnreadableError`` when it cannot be read."""
    if ref.s3 is not None:
        return _s3_reader(s3, ref, block_bytes)
    assert ref.url is not None
    return _url_reader(ref.url, policy, block_bytes)


def download(ref: MediaRef, destination: Path, *, s3: Any, policy: UrlPolicy) -> Path:
    """The whole input into ``destination`` (to convert it), in large ranged reads."""
    reader = open_input(ref, s3=s3, policy=policy, block_bytes=COPY_BLOCK_BYTES)
    with destination.open("wb") as out:
        shutil.copyfileobj(reader, out, COPY_BLOCK_BYTES)
    return destination


def _s3_reader(s3: Any, ref: MediaRef, block_bytes: int) -> RangedReader:
    location = ref.s3
    assert location is not None
    params = {"Bucket": location.bucket, "Key": location.key}
    if location.version_id:
        params["VersionId"] = location.version_id
    try:
        size = int(s3.head_object(**params)["ContentLength"])
    except ClientError as error:
        code = error.response["Error"].get("Code")
        raise InputUnreadableError(f"{location.uri} cannot be read: {code}") from None

    def fetch(first: int, last: int) -> bytes:
        try:
            body = s3.get_object(**params, Range=f"bytes={first}-{last}")["Body"]
        except ClientError as error:
            code = error.response["Error"].get("Code")
            raise InputUnreadableError(f"{location.uri} cannot be read: {code}") from None
        return bytes(body.read())

    return RangedReader(fetch, size, block_bytes=block_bytes)


def _url_reader(url: str, policy: UrlPolicy, block_bytes: int) -> RangedReader:
    # The first byte tells the size; an empty file cannot satisfy it and answers 416 with "bytes */0".
    first = _ranged_get(url, policy, 0, 0, answers=(206, 416), whole=_spooled)
    if isinstance(first, RangedReader):
        return first
    match = _CONTENT_RANGE.match(first.headers.get("Content-Range", ""))
    if match is None:
        raise InputUnreadableError("the input URL's server does not answer range requests (HTTP 206)")
    return RangedReader(
        lambda a, b: _ranged_get(url, policy, a, b).data, int(match["size"]), block_bytes=block_bytes
    )


def _ranged_get(
    url: str,
    policy: UrlPolicy,
    first: int,
    last: int,
    answers: tuple[int, ...] = (206,),
    whole: Any = None,
) -> Any:
    """The answer to a range request, read; with ``whole``, a 200 (the server ignored the range) is
    handed to it unread instead, and its result returned."""
    try:
        response = pinned_request("GET", url, policy, headers={"Range": f"bytes={first}-{last}"})
        if whole is not None and response.status == 200:
            return whole(response)
        response.read(cache_content=True)
    except (ResultUrlRejectedError, ResultDownloadError) as error:
        raise InputUnreadableError(str(error)) from None
    except urllib3.exceptions.HTTPError as error:
        raise InputUnreadableError(f"the input URL could not be read: {type(error).__name__}") from None
    response.release_conn()
    if response.status not in answers:
        raise InputUnreadableError(f"the input URL answered HTTP {response.status} to a range request")
    return response


def _spooled(response: Any) -> RangedReader:
    """A whole answer (a server that ignores ``Range``) in a temporary file, read in ranges from there."""
    declared = response.headers.get("Content-Length")
    if declared is not None and int(declared) > UNRANGED_MAX_BYTES:
        response.release_conn()
        raise InputUnreadableError(
            f"the input URL's server ignores range requests and the input ({int(declared)} bytes) is over "
            f"the {UNRANGED_MAX_BYTES // 2**20} MiB read whole"
        )
    # Outlives this call (the reader's ranges come from it): closed, and so removed, when the reader is gone.
    spool = tempfile.TemporaryFile(prefix="input-")  # noqa: SIM115
    size = 0
    for chunk in response.stream(COPY_BLOCK_BYTES):
        size += len(chunk)
        if size > UNRANGED_MAX_BYTES:
            spool.close()
            raise InputUnreadableError(
                f"the input URL's server ignores range requests and the input is over the "
                f"{UNRANGED_MAX_BYTES // 2**20} MiB read whole"
            )
        spool.write(chunk)
    response.release_conn()

    def fetch(start: int, end: int) -> bytes:
        spool.seek(start)
        return spool.read(end - start + 1)

    return RangedReader(fetch, size)
