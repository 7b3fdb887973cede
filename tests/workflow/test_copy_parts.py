"""The copy's parts upload several at a time: the object is whole and in order, and a part that fails
mid-copy aborts the upload with nothing left behind (moto in-process, the result over real HTTP)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lipsync.media.serving import serve_directory
from lipsync_core.jobs.access.multipart import MIN_PART_BYTES, PARTS_IN_FLIGHT, stream_to_s3
from lipsync_core.jobs.access.result_urls import UrlPolicy, open_result

# More parts than can be in flight at once, and a short last one.
SIZE = (PARTS_IN_FLIGHT + 2) * MIN_PART_BYTES + 12_345


@pytest.fixture
def result(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    data = os.urandom(SIZE)
    (tmp_path / "result.mp4").write_bytes(data)
    with serve_directory(tmp_path) as base:
        yield f"{base}/result.mp4", data


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="results")
        yield client


def test_parts_in_flight_make_the_whole_object_in_order(result: tuple[str, bytes], s3: Any) -> None:
    url, data = result
    response = open_result(url, UrlPolicy(allow_local=True))
    size, sha256 = stream_to_s3(response, s3, "results", "out.mp4", part_bytes=MIN_PART_BYTES, metadata={})
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    stored = s3.get_object(Bucket="results", Key="out.mp4")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha256
    assert s3.head_object(Bucket="results", Key="out.mp4", PartNumber=1)["PartsCount"] == PARTS_IN_FLIGHT + 3


def test_a_part_that_fails_mid_copy_aborts_the_upload(result: tuple[str, bytes], s3: Any) -> None:
    url, _ = result

    def fail_third_part(params: dict[str, Any], **_: Any) -> None:
        if params["PartNumber"] == 3:
            raise ConnectionResetError("the network went away")

    s3.meta.events.register("provide-client-params.s3.UploadPart", fail_third_part)
    response = open_result(url, UrlPolicy(allow_local=True))
    with pytest.raises(ConnectionResetError):
        stream_to_s3(response, s3, "results", "out.mp4", part_bytes=MIN_PART_BYTES, metadata={})
    assert s3.list_multipart_uploads(Bucket="results").get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket="results")
