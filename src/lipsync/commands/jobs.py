"""``lipsync submit / status / cancel / logs / wait / queue / list``: the jobs API through ``lipsync_client``,
against a deployed stack or ``lipsync up``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command, add_job_request_arguments, options_epilog
from lipsync.cliutil.output import Output
from lipsync.cliutil.preflight import prepare
from lipsync.cliutil.submission import follow, is_loopback, start
from lipsync.cliutil.target import add_target_arguments, client_for
from lipsync_client.waiting import FIRST_SECONDS, MAX_SECONDS

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands

STATUSES = ["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]


def register(subcommands: Subcommands) -> None:
    submitting = add_command(
        subcommands,
        "submit",
        "start a job and print its id (local files are uploaded first)",
        submit,
        epilog=options_epilog(),
    )
    add_job_request_arguments(submitting)
    submitting.add_argument(
        "--idempotency-key", default=None, help="the same key and request return the same job"
    )
    add_target_arguments(submitting)

    for name, summary, run in (
        ("status", "show a job's status, progress, error or result URL", status),
        ("cancel", "cancel a job that has not ended", cancel),
        ("logs", "show a job's status transitions with their times", logs),
    ):
        one_job = add_command(subcommands, name, summary, run)
        one_job.add_argument("job_id", metavar="JOB_ID")
        add_target_arguments(one_job)

    waiting = add_command(
        subcommands, "wait", "follow a job until it ends (exit code 0 only if it succeeded)", wait
    )
    waiting.add_argument("job_id", metavar="JOB_ID")
    waiting.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    waiting.add_argument(
        "--interval", type=float, default=FIRST_SECONDS, help="seconds before the first status check"
    )
    waiting.add_argument(
        "--max-interval", type=float, default=MAX_SECONDS, help="the longest wait between checks"
    )
    add_target_arguments(waiting)

    line = add_command(
        subcommands, "queue", "show the line for the service's capacity: waiting, running, drain", queue
    )
    add_target_arguments(line)

    listing = add_command(subcommands, "list", "list jobs, newest first", list_jobs)
    listing.add_argument("--status", choices=STATUSES, help="only jobs in this status")
    listing.add_argument("--limit", type=int, default=20, help="jobs per page (1-100)")
    listing.add_argument("--next-token", default=None, help="the page after the one that printed this token")
    add_target_arguments(listing)


def summary(job: dict[str, Any]) -> str:
    """One line per job, for people."""
    status = job.get("status", "?")
    service = f" ({job['service_status']})" if job.get("service_status") else ""
    progress = f" {job['progress']:.0f}%" if job.get("progress") is not None else ""
    line = f"{job.get('job_id')}  {status}{service}{progress}  {job.get('mode', '')}"
    line += f"  {job.get('created_at', '')}"
    if job.get("line"):
        place = job["line"]
        start = place.get("estimated_start_in_seconds")
        line += f"\n  in line: {place['position']} ({place['ahead']} ahead, {place['priority']} priority)"
        line += f", starts in about {_duration(start)}" if start is not None else ""
    if job.get("error"):
        error = job["error"]
        code = f" (code {error['code']})" if error.get("code") else ""
        line += f"\n  error: {error.get('name')}: {error.get('message')}{code}"
    if (job.get("output") or {}).get("url"):
        line += f"\n  result: {job['output']['url']}"
    return line


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def line_summary(mode: dict[str, Any]) -> str:
    """One line per mode of ``GET /queue``, for people."""
    by_priority = ", ".join(f"{p['priority']} {p['waiting']}" for p in mode["priorities"] if p["waiting"])
    slots = f"{mode['running']} of {mode['slots']} slots" if mode["slots"] else f"{mode['running']} tasks"
    text = f"{mode['mode']}: {mode['waiting']} waiting" + (f" ({by_priority})" if by_priority else "")
    text += f", {slots} running"
    if mode.get("oldest_wait_seconds") is not None:
        text += f", oldest waiting {_duration(mode['oldest_wait_seconds'])}"
    if mode["waiting"] and mode.get("estimated_drain_seconds") is not None:
        text += f", drains in about {_duration(mode['estimated_drain_seconds'])}"
    return text


def queue(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    line = client.queue()
    waiting = sum(mode["waiting"] for mode in line["modes"])
    out.result(line, human="\n".join(line_summary(mode) for mode in line["modes"]), quiet=str(waiting))
    return codes.OK


def submit(args: argparse.Namespace, out: Output) -> int:
    client = client_for(args)
    assert client is not None
    inputs, options = prepare(args, allow_http=is_loopback(client.endpoint))
    answer = start(
        client, inputs, mode=args.mode, options=options, key=args.idempotency_key, priority=args.priority
    )
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
    job = follow(client, args.job_id, out, timeout=args.timeout, interval=(args.interval, args.max_interval))
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
