"""``lipsync run`` and ``lipsync demo``: upload, submit, wait, download, through ``lipsync_client``,
against a deployed stack (``--stack``/``--endpoint``) or, by default, a local stack started for the
one job. Everything that can be checked first is checked before anything starts."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command, add_job_request_arguments, options_epilog
from lipsync.cliutil.interrupts import abandon, ctrl_c_once
from lipsync.cliutil.output import Output
from lipsync.cliutil.preflight import Inputs, prepare, resolve_out
from lipsync.cliutil.submission import FOLLOW_SECONDS, follow, is_loopback, start
from lipsync.cliutil.target import (
    add_service_limit_arguments,
    add_target_arguments,
    client_for,
    service_config,
)
from lipsync_client import LipSync

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands

LOCAL_FOLLOW_SECONDS = (0.2, 1.0)  # the local API answers in milliseconds, for this caller only
STARTING = "starting the local stack (moto, the emulator, the synthesized workflow)"


def register(subcommands: Subcommands) -> None:
    running = add_command(
        subcommands,
        "run",
        "lip-sync VIDEO to AUDIO: upload, submit, wait, download (locally unless --stack/--endpoint)",
        run,
        epilog=options_epilog(),
    )
    add_job_request_arguments(running)
    running.add_argument(
        "--out",
        default=None,
        help="the result file, or a directory to put it in (default: out/VIDEO.lipsync.mp4)",
    )
    add_target_arguments(running)
    add_service_limit_arguments(running)

    demonstrating = add_command(
        subcommands, "demo", "make a sample talking head and voice, then run one job on them locally", demo
    )
    demonstrating.add_argument("--out", default=None, help="the result file (default: out/demo-lipsync.mp4)")
    add_target_arguments(demonstrating)
    add_service_limit_arguments(demonstrating)


@contextmanager
def local_stack(out: Output, service: Any = None) -> Iterator[Any]:
    """The local runtime for one job: stopped after it, or on Ctrl-C left behind with its files removed."""
    from lipsync.local.runtime import LocalRuntime

    runtime = LocalRuntime(emulator_config=service)
    try:
        if out.interactive:
            with out.console.status(STARTING):
                runtime.start()
        else:
            runtime.start()
        yield runtime
    except KeyboardInterrupt:  # Ctrl-C answers at once (`cli.entry` leaves without waiting)
        abandon(runtime)
        raise
    except BaseException:
        runtime.stop()
        raise
    runtime.stop()


def _stem(reference: Path | str) -> str:
    if isinstance(reference, Path):
        return reference.stem
    return PurePosixPath(urlsplit(reference).path).stem or "result"


def _job(
    client: LipSync,
    *,
    inputs: Inputs,
    mode: str,
    priority: str,
    options: dict[str, Any],
    target: Path,
    out: Output,
    interval: tuple[float, float],
    runtime: Any = None,
) -> int:
    started = start(client, inputs, mode=mode, options=options, key=None, priority=priority)
    job_id = started["job_id"]
    names = " + ".join(ref.name if isinstance(ref, Path) else ref for ref in (inputs.video, inputs.audio))
    out.say(f"job [bold]{job_id}[/] started: {mode}, {names}")
    job = follow(client, job_id, out, timeout=None, interval=interval, remote=runtime is None)
    # Locally the announced event is part of what a run shows (and the proof it was announced).
    event = runtime.wait_for_terminal_event(job_id) if runtime is not None else None
    if job["status"] != "SUCCEEDED":
        error = job.get("error") or {}
        code = f" (code {error['code']})" if error.get("code") else ""
        out.result({"job": job, "output": None, "event": event})
        out.error(f"job {job_id} {job['status'].lower()}: {error.get('name')}: {error.get('message')}{code}")
        return codes.JOB_FAILED
    path = client.download(job, target)
    size = job["output"].get("size_bytes")
    human = f"[green]result:[/] {path} ({size:,} bytes, {job['output'].get('duration_seconds')} s)"
    if event is not None:
        human += f"\n[green]{event['detail-type']}[/] event:\n" + json.dumps(event["detail"], indent=2)
    out.result({"job": job, "output": str(path), "event": event}, human=human, quiet=str(path))
    return codes.OK


def run_with(args: argparse.Namespace, out: Output, *, video: str, audio: str) -> int:
    client = client_for(args, required=False)
    args.video, args.audio = video, audio
    inputs, options = prepare(args, allow_http=client is None or is_loopback(client.endpoint))
    target = resolve_out(args.out, f"{_stem(inputs.video)}.lipsync.mp4")
    job = partial(
        _job, inputs=inputs, mode=args.mode, priority=args.priority, options=options, target=target, out=out
    )
    with ctrl_c_once():
        if client is not None:
            return job(client, interval=FOLLOW_SECONDS)
        with local_stack(out, service_config(args)) as runtime:
            local = LipSync(runtime.endpoints.api, sign=False)
            return job(local, interval=LOCAL_FOLLOW_SECONDS, runtime=runtime)


def run(args: argparse.Namespace, out: Output) -> int:
    return run_with(args, out, video=args.video, audio=args.audio)


def demo(args: argparse.Namespace, out: Output) -> int:
    """Sample media made on the spot, then ``run`` on it."""
    import tempfile

    from lipsync.media.samples import make_talking_head, make_voice

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lipsync-demo-") as tmp:
        media = Path(tmp)
        out.say("making sample media: a 2 s talking head and a 5 s voice")
        video = make_talking_head(media / "talking-head.mp4", seconds=2.0)
        audio = make_voice(media / "voice.wav", seconds=5.0)
        args.mode, args.priority, args.option = "lite", "normal", ["align_audio_reverse=true"]
        args.out = args.out or "out/demo-lipsync.mp4"
        code = run_with(args, out, video=str(video), audio=str(audio))
    out.say(
        f"demo finished in {time.monotonic() - started:.1f} s "
        "(the 2 s template is played forward and backward to cover the 5 s voice)"
    )
    return code
