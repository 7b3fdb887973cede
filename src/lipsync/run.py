"""``lipsync run`` and ``lipsync demo``: one job through the whole local pipeline, as a user sees it:
upload through the API's presigned URLs, start the job through the API, follow it, fetch the result."""

from __future__ import annotations

import json
import mimetypes
import time
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax

from lipsync.local.runtime import LocalRuntime

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
FOLLOW_SECONDS = 0.2  # how often the progress bar asks the API


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it can be (true, 1.5), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--option takes key=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def _content_type(path: Path, fallback: str) -> str:
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.split("/")[0] == fallback.split("/")[0] else fallback


def run_job(
    runtime: LocalRuntime,
    video: Path,
    audio: Path,
    *,
    mode: str,
    options: dict[str, Any],
    out: Path,
    console: Console,
) -> int:
    assert runtime.endpoints
    api = runtime.endpoints.api
    types = {
        "video_content_type": _content_type(video, "video/mp4"),
        "audio_content_type": _content_type(audio, "audio/wav"),
    }
    uploads = requests.post(f"{api}/uploads", json=types, timeout=30).json()
    for name, path in (("video", video), ("audio", audio)):
        with path.open("rb") as body:
            requests.put(
                uploads[name]["upload_url"], data=body, headers=uploads[name]["headers"], timeout=120
            ).raise_for_status()
    request = {
        "mode": mode,
        "video": uploads["video"]["s3_uri"],
        "audio": uploads["audio"]["s3_uri"],
        "options": options,
    }
    answer = requests.post(f"{api}/jobs", json=request, timeout=30)
    if answer.status_code >= 400:
        console.print(f"[red]rejected ({answer.status_code}):[/] {answer.json().get('message')}")
        for error in answer.json().get("errors", []):
            console.print(f"  {error['field']}: {error['message']}")
        return 2
    job_id = answer.json()["job_id"]
    console.print(f"job [bold]{job_id}[/] started: {mode}, {video.name} + {audio.name}")

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("QUEUED", total=100)
        while True:
            job = requests.get(f"{api}/jobs/{job_id}", timeout=30).json()
            service = f" / {job['service_status']}" if job.get("service_status") else ""
            progress.update(bar, description=f"{job['status']}{service}", completed=job.get("progress") or 0)
            if job["status"] in TERMINAL:
                break
            time.sleep(FOLLOW_SECONDS)  # the client's refresh rate, not synchronisation
        if job["status"] == "SUCCEEDED":
            progress.update(bar, completed=100)

    event = runtime.wait_for_terminal_event(job_id)
    if job["status"] != "SUCCEEDED":
        error = event["detail"].get("error", {})
        console.print(
            f"[red]{event['detail-type']}:[/] {error.get('name')}: {error.get('message')}"
            + (f" (code {error['code']})" if error.get("code") else "")
        )
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with requests.get(job["output"]["url"], stream=True, timeout=120) as download:
        download.raise_for_status()
        with out.open("wb") as handle:
            for chunk in download.iter_content(1 << 20):
                handle.write(chunk)
    console.print(
        f"[green]result:[/] {out} ({job['output']['size_bytes']:,} bytes, "
        f"{job['output'].get('duration_seconds')} s)"
    )
    console.print(f"[green]{event['detail-type']}[/] event:")
    console.print(Syntax(json.dumps(event["detail"], indent=2), "json", theme="ansi_dark", word_wrap=True))
    return 0


def run(
    video: Path,
    audio: Path,
    *,
    mode: str,
    options: dict[str, Any],
    out: Path | None,
    console: Console | None = None,
) -> int:
    console = console or Console()
    for path in (video, audio):
        if not path.is_file():
            console.print(f"[red]no such file:[/] {path}")
            return 2
    with console.status("starting the local stack (moto, the emulator, the synthesized workflow)"):
        runtime = LocalRuntime()
        runtime.start()
    try:
        return run_job(
            runtime,
            video,
            audio,
            mode=mode,
            options=options,
            out=out or Path("out") / f"{video.stem}.lipsync.mp4",
            console=console,
        )
    finally:
        runtime.stop()


def demo(out_dir: Path = Path("out"), console: Console | None = None) -> int:
    """Sample media made on the spot, then ``run`` on it."""
    import tempfile

    from lipsync.samples import make_talking_head, make_voice

    console = console or Console()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lipsync-demo-") as tmp:
        media = Path(tmp)
        with console.status("making sample media: a 2 s talking head and a 5 s voice"):
            video = make_talking_head(media / "talking-head.mp4", seconds=2.0)
            audio = make_voice(media / "voice.wav", seconds=5.0)
        code = run(
            video,
            audio,
            mode="lite",
            options={"align_audio_reverse": True},
            out=out_dir / "demo-lipsync.mp4",
            console=console,
        )
    console.print(
        f"demo finished in {time.monotonic() - started:.1f} s "
        "(the 2 s template is played forward and backward to cover the 5 s voice)"
    )
    return code
