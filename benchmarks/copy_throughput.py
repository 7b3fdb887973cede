"""Copy of a 1 GiB result from localhost HTTP into S3 (moto in a process of its own): our
``stream_to_s3`` beside boto3's ``upload_fileobj`` reading the same kind of stream, with and without a
SHA-256 of the whole object. Each copy runs in a fresh process: wall time, CPU and peak memory (the
best of two interleaved rounds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.report import Row
from lipsync.media.serving import serve_directory, url_for

SIZE = 1 << 30
PART = 8 * 1024 * 1024
ROUNDS = 2
MOTO = """
import sys, time
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
"""
COPY = """
import hashlib, json, resource, sys, time
import boto3
from lipsync_core.jobs.access.multipart import stream_to_s3
from lipsync_core.jobs.access.result_urls import UrlPolicy, open_result
endpoint, url, how = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
s3.create_bucket(Bucket="bench")

class Hashing:
    def __init__(self, raw):
        self.raw, self.digest = raw, hashlib.sha256()
    def read(self, size=-1):
        data = self.raw.read(size)
        self.digest.update(data)
        return data

started, cpu = time.perf_counter(), time.process_time()
response = open_result(url, UrlPolicy(allow_local=True))
if how == "ours":
    stream_to_s3(response, s3, "bench", "out.mp4", part_bytes=int(sys.argv[4]), metadata={})
else:
    s3.upload_fileobj(Hashing(response) if how == "hashing" else response, "bench", "out.mp4")
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
s3.delete_object(Bucket="bench", Key="out.mp4")
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak_kb / 1024}))
"""


def make_result(path: Path) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for index in range(SIZE >> 20):
            handle.write(block[index % 64 :] + block[: index % 64])


def copy(endpoint: str, url: str, how: str) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", COPY, endpoint, url, how, str(PART)],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"},
    )
    if out.returncode:
        raise RuntimeError(f"the {how} copy failed: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(tmp: Path) -> list[Row]:
    make_result(tmp / "result.mp4")
    moto = subprocess.Popen(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", MOTO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert moto.stdout is not None
        endpoint = f"http://127.0.0.1:{moto.stdout.readline().strip()}"
        with serve_directory(tmp) as base:
            url = url_for(base, "result.mp4")
            # Interleaved rounds, best of each: other work on the machine slows one copy, not all.
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "plain": [], "hashing": []}
            for _ in range(ROUNDS):
                for how, results in runs.items():
                    results.append(copy(endpoint, url, how))
            ours, plain, hashing = (
                {name: min(r[name] for r in results) for name in results[0]} for results in runs.values()
            )
    finally:
        moto.terminate()
        moto.wait()
    mb = SIZE / 1e6
    gib = SIZE / (1 << 30)
    return [
        Row(
            "copy of a 1 GiB result into S3 (moto), throughput",
            mb / ours["wall"],
            mb / plain["wall"],
            "MB/s",
            ">= 0.9x upload_fileobj",
            lambda o, b: b is not None and o >= 0.9 * b,
        ),
        Row(
            "  same, peak RSS of the copying process",
            ours["peak_mb"],
            plain["peak_mb"],
            "MiB",
            "<= 128 MiB",
            lambda o, b: o <= 128,
        ),
        Row(
            "copy CPU per GiB (baseline: upload_fileobj + SHA-256)",
            ours["cpu"] / gib,
            hashing["cpu"] / gib,
            "s",
            "<= 1.2x",
            lambda o, b: b is not None and o <= 1.2 * b,
        ),
        Row("  upload_fileobj without hashing, CPU per GiB", plain["cpu"] / gib, None, "s"),
    ]
