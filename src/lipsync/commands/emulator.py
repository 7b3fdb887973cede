"""``lipsync emulator``: the Volcengine lip-sync emulator on its own, until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
from typing import TYPE_CHECKING, Any

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command
from lipsync.cliutil.output import Output
from lipsync.cliutil.target import add_input_limits_argument, input_limits

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    serving = add_command(
        subcommands, "emulator", "run the Volcengine lip-sync emulator on its own", emulator
    )
    serving.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serving.add_argument("--port", type=int, default=8500, help="0 picks a free port")
    serving.add_argument("--access-key-id", required=True, help="the access key the emulator accepts")
    serving.add_argument("--secret-access-key", required=True, help="its secret key")
    serving.add_argument("--session-token", default=None, help="require this X-Security-Token")
    serving.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    serving.add_argument("--faults", default="", help="e.g. 'throttle:rate=0.2;task_failed:count=1'")
    serving.add_argument("--seed", type=int, default=0, help="seed for fault rates and task ids")
    serving.add_argument("--qps", type=float, default=0, help="calls per second per req_key (0: no limit)")
    serving.add_argument(
        "--concurrency", type=int, default=0, help="unfinished tasks per req_key (0: no limit)"
    )
    serving.add_argument("--result-url-ttl", type=float, default=3600.0, help="seconds a result URL lives")
    serving.add_argument("--render-workers", type=int, default=2, help="threads rendering results")
    add_input_limits_argument(serving)


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
        input_limits=input_limits(args),
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
