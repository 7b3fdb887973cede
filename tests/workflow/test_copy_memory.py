"""copy_result streams a result of any size: the copying process's peak memory is measured (in a
process of its own, against moto in server mode) and bounded well under the result's size."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lipsync.media.serving import serve_directory

pytestmark = pytest.mark.slow

COPY_SCRIPT = """
import json, sys
import boto3
from lipsync_core.jobs.access.multipart import stream_to_s3
from lipsync_core.jobs.access.result_urls import UrlPolicy, open_result
endpoint, url, bucket = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
response = open_result(url, UrlPolicy(allow_local=True))
size, sha256 = stream_to_s3(response, s3, bucket, "outputs/big.mp4", part_bytes=8 * 1024 * 1024, metadata={})
# VmHWM: this process image's peak resident memory (ru_maxrss would include the parent's, from before exec).
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"size": size, "sha256": sha256, "peak_rss_mb": peak_kb / 1024}))
"""


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def function_memory_mb(template_path: Path) -> int:
    resources = json.loads(template_path.read_text())["Resources"]
    [memory] = [
        r["Properties"]["MemorySize"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
        == "lipsync-copy-result"
    ]
    return int(memory)


RESULT_MB = 320  # more than the copy's whole memory budget (five 8 MiB parts and the runtime)


def test_a_result_streams_in_bounded_memory_whatever_its_size(
    template_path: Path, moto_server: str, tmp_path: Path
) -> None:
    memory_mb = function_memory_mb(template_path)
    size = RESULT_MB * 1024 * 1024
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:  # incompressible and not all one byte, written in chunks
        block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
        for index in range(size // len(block)):
            handle.write(block[index % 32 :] + block[: index % 32])
    digest = hashlib.sha256()
    with big.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    expected = digest.hexdigest()

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    with serve_directory(tmp_path) as base:
        out = subprocess.run(
            [sys.executable, "-c", COPY_SCRIPT, moto_server, f"{base}/big.mp4", "results"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"copied {size / 2**20:.0f} MiB with a peak RSS of {measured['peak_rss_mb']:.0f} MiB "
        f"(function memory {memory_mb} MiB)"
    )
    assert (measured["size"], measured["sha256"]) == (size, expected)
    # Bounded: well under the result's size (so any size fits), and under the function's memory.
    assert measured["peak_rss_mb"] < min(memory_mb * 0.75, RESULT_MB / 2)
    assert s3.head_object(Bucket="results", Key="outputs/big.mp4")["ContentLength"] == size
    assert s3.list_multipart_uploads(Bucket="results").get("Uploads", []) == []
