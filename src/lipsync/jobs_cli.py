"""``lipsync submit / status / wait / list / cancel / logs``: the jobs API through ``lipsync_client``,
against a deployed stack or ``lipsync up``."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlsplit

from lipsync_client import LipSync

from . import output as codes
from .output import Output
from .preflight import Inputs, check_inputs, check_request, probe
from .target import client_for

FOLLOW_SECONDS = 1.0  # how often `wait` asks a deployed API; `lipsync up` answers faster


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it can be (true, 1.5), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--option takes key=value, got {text!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def parse_options(texts: list[str]) -> dict[str, Any]:
    return dict(parse_option(text) for text in texts)


def summary(job: dict[str, Any]) -> str:
    """One line per job, for people."""
    status = job.get("status", "?")
    service = f" ({job['service_status']})" if job.get("service_status") else ""
    progress = f" {job['progress']:.0f}%" if job.get("progress") is not None else ""
    line = f"{job.get('job_id')}  {status}{service}{progress}  {job.get('mode', '')}"
    line += f"  {job.get('created_at', '')}"
    if job.get("error"):
        error = job["error"]
        code = f" (code {error['code']})" if error.get("code") else ""
        line += f"\n  error: {error.get('name')}: {error.get('message')}{code}"
    if (job.get("output") or {}).get("url"):
        line += f"\n  result: {job['output']['url']}"
    return line


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def prepare(args: argparse.Namespace, *, allow_http: bool) -> tuple[Inputs, dict[str, Any]]:
    """Every check that needs nothing running: files, URLs, options, the media's streams."""
    options = parse_options(args.option)
    inputs = check_inputs(args.video, args.audio)
    check_request(args.mode, options, inputs, allow_http=allow_http)
    probe(inputs)
    return inputs, options


def start(client: LipSync, inputs: Inputs, *, mode: str, options: dict[str, Any], key: str | None) -> Any:
    """Upload the local files (presigned PUTs), then start the job."""
    refs: dict[str, Any] = {"video": inputs.video, "audio": inputs.audio}
    local = inputs.local()
    if local:
        refs.update(client.upload(**local))
    return client.submit(
        mode=mode, video=str(refs["video"]), audio=str(refs["audio"]), options=options, idempotency_key=key
    )


def follow(
    client: LipSync, job_id: str, out: Output, *, timeout: float | None, interval: float, remote: bool = True
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


def _follow(client: LipSync, job_id: str, out: Output, *, timeout: float | None, interval: float) -> Any:
    if not out.interactive:
        return client.wait(job_id, timeout=timeout, interval=interval)
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

        return client.wait(job_id, timeout=timeout, interval=interval, on_progress=show)


def submit(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    inputs, options = prepare(args, allow_http=is_loopback(client.endpoint))
    answer = start(client, inputs, mode=args.mode, options=options, key=args.idempotency_key)
    human = f"job {answer['job_id']} {'started' if answer.get('created', True) else 'already exists'}"
    out.result(answer, human=human, quiet=answer["job_id"])
    return codes.OK


def status(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    job = client.get(args.job_id)
    out.result(job, human=summary(job), quiet=job["status"])
    return codes.OK


def wait(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    job = follow(client, args.job_id, out, timeout=args.timeout, interval=args.interval)
    out.result(job, human=summary(job), quiet=job["status"])
    return codes.OK if job["status"] == "SUCCEEDED" else codes.JOB_FAILED


def list_jobs(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    page = client.list(status=args.status, limit=args.limit, next_token=args.next_token)
    lines = [summary(job) for job in page["jobs"]] or ["no jobs"]
    if page.get("next_token"):
        lines.append(f"more: --next-token {page['next_token']}")
    out.result(page, human="\n".join(lines), quiet="\n".join(job["job_id"] for job in page["jobs"]))
    return codes.OK


def cancel(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    job = client.cancel(args.job_id)
    out.result(job, human=f"job {args.job_id} cancelled", quiet=job["status"])
    return codes.OK


def logs(args: argparse.Namespace, out: Output) -> int:
    """The job's status transitions, as the job record keeps them."""
    client = client_for(args)
    assert client is not None
    job = client.get(args.job_id)
    history = job.get("history") or []
    lines = []
    for entry in history:
        extra = "".join(f" {k}={v}" for k, v in entry.items() if k not in ("at", "status"))
        lines.append(f"{entry.get('at')}  {entry.get('status')}{extra}")
    if job.get("error"):
        lines.append(f"error: {job['error'].get('name')}: {job['error'].get('message')}")
    out.result(
        {"job_id": args.job_id, "status": job["status"], "history": history, "error": job.get("error")},
        human="\n".join(lines) or f"job {args.job_id} has no history",
        quiet="\n".join(f"{e.get('at')} {e.get('status')}" for e in history),
    )
    return codes.OK
