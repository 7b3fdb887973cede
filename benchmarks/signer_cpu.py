"""CPU to sign one CVSubmitTask request: our signer beside the SDK's ``SignerV4``, in one interpreter
(the runtime's Python version), each signing a fresh request with the current time, as a client does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.report import Row
from infra.lambda_target import LambdaTarget

REQUESTS = 20_000
BODY = json.dumps(
    {
        "req_key": "realman_avatar_picture_omni_v2",
        "video_url": "https://example.com/face.mp4",
        "pure_audio_url": "https://example.com/voice.wav",
    }
)
SCRIPT = """
import sys, time
sys.path[:0] = sys.argv[1:3]
from datetime import UTC, datetime
from lipsync_core.volc.signer import Credentials, sign
from volcengine.auth.SignerV4 import SignerV4
from volcengine.base.Request import Request
from volcengine.Credentials import Credentials as SdkCredentials
body, n = sys.argv[3].encode(), int(sys.argv[4])
query = {"Action": "CVSubmitTask", "Version": "2022-08-31"}
ours = Credentials("AKLTbench", "bench-secret")
theirs = SdkCredentials("AKLTbench", "bench-secret", "cv", "cn-north-1")

def one_of_ours():
    sign(method="POST", host="visual.volcengineapi.com", path="/", query=query,
         headers={"Content-Type": "application/json"}, body=body, credentials=ours,
         timestamp=datetime.now(UTC))

def one_of_theirs():
    request = Request()
    request.method, request.host, request.path = "POST", "visual.volcengineapi.com", "/"
    request.query, request.headers, request.body = dict(query), {"Content-Type": "application/json"}, body
    SignerV4.sign(request, theirs)

def cpu_us(one):
    for _ in range(500):
        one()
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(n // 5):
            one()
        best = min(best, (time.process_time() - started) / (n // 5) * 1e6)
    return best

print(cpu_us(one_of_ours), cpu_us(one_of_theirs))
"""


def main(layer: Path, sdk: Path) -> list[Row]:
    out = subprocess.run(  # noqa: S603 - the runtime's interpreter, fixed code
        [LambdaTarget().interpreter(), "-c", SCRIPT, str(layer), str(sdk), BODY, str(REQUESTS)],
        check=True,
        capture_output=True,
        text=True,
    )
    ours, theirs = (float(x) for x in out.stdout.split())
    return [
        Row(
            "signing one CVSubmitTask (CPU)",
            ours,
            theirs,
            "us",
            "<= 0.5x SDK",
            lambda o, b: b is not None and o <= 0.5 * b,
        )
    ]
