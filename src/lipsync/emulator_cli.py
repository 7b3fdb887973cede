"""``lipsync emulator``: the Volcengine lip-sync emulator on its own, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from . import output as codes
from .output import Output


def emulator(args: argparse.Namespace, out: Output) -> int:
    from lipsync.emulator import Emulator, ServiceConfig, parse_fault_spec
    from lipsync.emulator.faults import FaultSpecError

    try:
        faults = parse_fault_spec(args.faults or "")
    except FaultSpecError as exc:
        out.error(f"--faults: {exc}")
        return codes.USAGE
    config = ServiceConfig(
        qps=args.qps,
        concurrency=args.concurrency,
        result_url_ttl_seconds=args.result_url_ttl,
        render_workers=args.render_workers,
    )
    try:
        instance = Emulator(
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
    except OSError as error:
        out.error(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
        return codes.USAGE

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    endpoint = instance.endpoint
    out.result(
        {"endpoint": endpoint, "admin": f"{endpoint}/_emulator/"},
        human=f"Volcengine lip-sync emulator listening on {endpoint}\n"
        f"  VolcClient(access_key_id, secret_access_key, endpoint={endpoint!r})\n"
        f"  admin: {endpoint}/_emulator/ (health, tasks, submissions, faults, clock)",
        quiet=endpoint,
    )
    try:
        instance.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        instance.close()
    out.say("emulator stopped")
    return codes.OK
