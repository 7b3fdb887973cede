"""A job through the client, as ``run`` and ``submit``/``wait`` do it: the local files uploaded and the
job started, then followed until it ends (a progress bar on a terminal)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lipsync_client import LipSync
from lipsync_client.waiting import FIRST_SECONDS, MAX_SECONDS

from .output import Output
from .preflight import Inputs

# How `wait` asks a deployed API: a few seconds apart, growing to a cap (lipsync_client.waiting).
FOLLOW_SECONDS = (FIRST_SECONDS, MAX_SECONDS)


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def start(
    client: LipSync,
    inputs: Inputs,
    *,
    mode: str,
    options: dict[str, Any],
    key: str | None,
    priority: str = "normal",
) -> Any:
    """Upload the local files (presigned PUTs), then start the job."""
    refs: dict[str, Any] = {"video": inputs.video, "audio": inputs.audio}
    local = inputs.local()
    if local:
        refs.update(client.upload(**local))
    return client.submit(
        mode=mode,
        video=str(refs["video"]),
        audio=str(refs["audio"]),
        options=options,
        priority=priority,
        idempotency_key=key,
    )


def follow(
    client: LipSync,
    job_id: str,
    out: Output,
    *,
    timeout: float | None,
    interval: tuple[float, float],
    remote: bool = True,
) -> Any:
    """``client.wait`` with a progress bar on a terminal, silently otherwise. Ctrl-C stops following,
    not the job: the message says so, and how to stop the job."""
    try:
        return _follow(client, job_id, out, timeout=timeout, interval=interval)
    except KeyboardInterrupt:
        if not remote:
            raise
        raise KeyboardInterrupt(
            f"interrupted; job {job_id} goes on (lipsync cancel {job_id} stops it)"
        ) from None


def _follow(
    client: LipSync, job_id: str, out: Output, *, timeout: float | None, interval: tuple[float, float]
) -> Any:
    first, cap = interval
    if not out.interactive:
        return client.wait(job_id, timeout=timeout, interval=first, max_interval=cap)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out.console, transient=False) as progress:
        bar = progress.add_task("QUEUED", total=100)

        def show(job: dict[str, Any]) -> None:
            service = f" / {job['service_status']}" if job.get("service_status") else ""
            done = 100 if job.get("status") == "SUCCEEDED" else job.get("progress") or 0
            progress.update(bar, description=f"{job['status']}{service}", completed=done)

        return client.wait(job_id, timeout=timeout, interval=first, max_interval=cap, on_progress=show)
