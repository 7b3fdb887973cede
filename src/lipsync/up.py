"""``lipsync up``: the local stack, kept running until Ctrl-C, with what to point tools at."""

from __future__ import annotations

import signal
import threading
from typing import Any

from rich.console import Console

from lipsync.local.runtime import LocalRuntime


def serve(console: Console | None = None) -> int:
    console = console or Console()
    stopped = threading.Event()

    def stop(*_: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with console.status("starting moto, the emulator and the synthesized stack"):
        runtime = LocalRuntime()
        endpoints = runtime.start()
    try:
        aws = endpoints.aws
        console.print(f"""[bold green]lip-sync pipeline running locally[/]

  AWS (moto)         {aws}        bucket [bold]{endpoints.bucket}[/], bus [bold]{endpoints.bus}[/]
  HTTP API           {endpoints.api}
  Volcengine (emu)   {endpoints.emulator}

Start a job three ways (credentials are not checked locally):
  curl -s -X POST {endpoints.api}/jobs -H 'Content-Type: application/json' \\
       -d '{{"mode": "lite", "video": "s3://{endpoints.bucket}/inputs/face.mp4", "audio": "s3://{endpoints.bucket}/inputs/voice.wav"}}'
  aws --endpoint-url {aws} s3 cp face.mp4 s3://{endpoints.bucket}/inputs/face.mp4
  aws --endpoint-url {aws} s3 cp job.json s3://{endpoints.bucket}/jobs/job.json
  aws --endpoint-url {aws} events put-events --entries '[{{"EventBusName": "{endpoints.bus}",
       "Source": "lipsync.client", "DetailType": "LipSync Job Requested", "Detail": "{{...as above...}}"}}]'
Follow it:  curl -s {endpoints.api}/jobs/JOB_ID      (or GET {endpoints.api}/jobs)
Results:    aws --endpoint-url {aws} s3 ls s3://{endpoints.bucket}/outputs/

Ctrl-C stops everything.""")
        stopped.wait()
    finally:
        with console.status("stopping"):
            runtime.stop()
    console.print("stopped")
    return 0
