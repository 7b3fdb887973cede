"""``lipsync``: the command line of the local runtime and the emulator."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _demo(_: argparse.Namespace) -> int:
    from lipsync.run import demo

    return demo()


def _run(args: argparse.Namespace) -> int:
    from lipsync.run import parse_option, run

    try:
        options = dict(parse_option(text) for text in args.option)
    except ValueError as exc:
        print(f"lipsync run: {exc}", file=sys.stderr)
        return 2
    return run(args.video, args.audio, mode=args.mode, options=options, out=args.out)


def _up(_: argparse.Namespace) -> int:
    from lipsync.up import serve

    return serve()


def _emulator(args: argparse.Namespace) -> int:
    from lipsync.emulator import Emulator, ServiceConfig, parse_fault_spec
    from lipsync.emulator.faults import FaultSpecError

    try:
        faults = parse_fault_spec(args.faults or "")
    except FaultSpecError as exc:
        print(f"lipsync emulator: --faults: {exc}", file=sys.stderr)
        return 2
    config = ServiceConfig(
        qps=args.qps,
        concurrency=args.concurrency,
        result_url_ttl_seconds=args.result_url_ttl,
        render_workers=args.render_workers,
    )
    emulator = Emulator(
        host=args.host,
        port=args.port,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key,
        session_token=args.session_token,
        speed=args.speed,
        faults=faults,
        seed=args.seed,
        config=config,
    )

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"Volcengine lip-sync emulator listening on {emulator.endpoint}", flush=True)
    print(f"  VolcClient(access_key_id, secret_access_key, endpoint={emulator.endpoint!r})", flush=True)
    print(f"  admin: {emulator.endpoint}/_emulator/ (health, tasks, submissions, faults, clock)", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
    print("emulator stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lipsync", description="Lip-sync video jobs, on AWS or offline.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run a lip-sync job end to end on this machine, on sample media")
    demo.set_defaults(func=_demo)

    run = commands.add_parser("run", help="lip-sync VIDEO to AUDIO through the local pipeline")
    run.add_argument("video", type=Path)
    run.add_argument("audio", type=Path)
    run.add_argument("--mode", choices=["lite", "basic"], default="lite")
    run.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a service option, e.g. align_audio_reverse=true or templ_start_seconds=1.5",
    )
    run.add_argument("--out", type=Path, default=None, help="where to write the result (default: ./out/)")
    run.set_defaults(func=_run)

    up = commands.add_parser("up", help="start the whole pipeline locally and keep it running")
    up.set_defaults(func=_up)

    emulator = commands.add_parser("emulator", help="run the Volcengine lip-sync emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8500, help="0 picks a free port")
    emulator.add_argument("--access-key-id", required=True)
    emulator.add_argument("--secret-access-key", required=True)
    emulator.add_argument("--session-token", default=None, help="require this X-Security-Token")
    emulator.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    emulator.add_argument("--faults", default="", help="e.g. 'throttle:rate=0.2;task_failed:count=1'")
    emulator.add_argument("--seed", type=int, default=0, help="seed for fault rates and task ids")
    emulator.add_argument("--qps", type=float, default=0, help="calls per second per req_key (0: no limit)")
    emulator.add_argument("--concurrency", type=int, default=0, help="unfinished tasks per req_key")
    emulator.add_argument("--result-url-ttl", type=float, default=3600.0, help="seconds a result URL lives")
    emulator.add_argument("--render-workers", type=int, default=2)
    emulator.set_defaults(func=_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
