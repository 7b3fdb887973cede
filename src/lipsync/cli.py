"""``lipsync``: one command line for the jobs API (deployed or local), the local runtime and the
emulator. Results go to stdout (``--json``: one JSON document; ``--quiet``: the bare value), errors to
stderr in one sentence, and the exit code says what happened (see ``lipsync --help``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from . import output as codes
from .output import EXIT_CODES, InputError, Output

Command = Callable[[argparse.Namespace, Output], int]


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written; every option with a meaningful default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, [], argparse.SUPPRESS)
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lipsync-pipeline")
    except PackageNotFoundError:
        return "unknown"


def _options_epilog() -> str:
    from lipsync_core.volc.models import OPTION_SPECS

    lines = ["service options (--option KEY=VALUE), by mode:"]
    for name, spec in OPTION_SPECS.items():
        kind = "true/false" if spec.kind is bool else "number"
        modes = ", ".join(sorted(m.value for m in spec.modes))
        lines.append(f"  {name:<22} {kind:<10} {modes:<11} {spec.description}")
    return "\n".join(lines)


def _exit_codes_epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())


def _lazy(module: str, name: str) -> Command:
    """Commands import their module when run: `lipsync --help` stays fast."""

    def command(args: argparse.Namespace, out: Output) -> int:
        from importlib import import_module

        return int(getattr(import_module(f"lipsync.{module}"), name)(args, out))

    return command


def build_parser() -> argparse.ArgumentParser:
    from .target import add_service_limit_arguments, add_target_arguments
    from .up import DEFAULT_PORTS

    parser = argparse.ArgumentParser(
        prog="lipsync",
        description="Lip-sync video jobs, on a deployed stack or offline.",
        epilog=_exit_codes_epilog(),
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"lipsync {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    shown = common.add_argument_group("output")
    shown.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    shown.add_argument("--quiet", "-q", action="store_true", help="print only the essential value")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, summary: str, func: Command, *, epilog: str | None = None
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=summary, parents=[common], formatter_class=_Help, epilog=epilog
        )
        sub.set_defaults(func=func)
        return sub

    def job_request(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("video", help="the face video: a file, an s3:// URI or an https URL")
        sub.add_argument("audio", help="the voice track: a file, an s3:// URI or an https URL")
        sub.add_argument("--mode", choices=["lite", "basic"], default="lite", help="the service mode")
        sub.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a service option (repeatable), e.g. align_audio_reverse=true or templ_start_seconds=1.5",
        )

    options = _options_epilog()
    run = command(
        "run",
        "lip-sync VIDEO to AUDIO: upload, submit, wait, download (locally unless --stack/--endpoint)",
        _lazy("run", "run"),
        epilog=options,
    )
    job_request(run)
    run.add_argument(
        "--out",
        default=None,
        help="the result file, or a directory to put it in (default: out/VIDEO.lipsync.mp4)",
    )
    add_target_arguments(run)
    add_service_limit_arguments(run)

    demo = command(
        "demo",
        "make a sample talking head and voice, then run one job on them locally",
        _lazy("run", "demo"),
    )
    demo.add_argument("--out", default=None, help="the result file (default: out/demo-lipsync.mp4)")
    add_target_arguments(demo)
    add_service_limit_arguments(demo)

    submit = command(
        "submit",
        "start a job and print its id (local files are uploaded first)",
        _lazy("jobs_cli", "submit"),
        epilog=options,
    )
    job_request(submit)
    submit.add_argument(
        "--idempotency-key", default=None, help="the same key and request return the same job"
    )
    add_target_arguments(submit)

    for name, summary, func in (
        ("status", "show a job's status, progress, error or result URL", "status"),
        ("cancel", "cancel a job that has not ended", "cancel"),
        ("logs", "show a job's status transitions with their times", "logs"),
    ):
        sub = command(name, summary, _lazy("jobs_cli", func))
        sub.add_argument("job_id", metavar="JOB_ID")
        add_target_arguments(sub)

    wait = command(
        "wait", "follow a job until it ends (exit code 0 only if it succeeded)", _lazy("jobs_cli", "wait")
    )
    wait.add_argument("job_id", metavar="JOB_ID")
    wait.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    wait.add_argument("--interval", type=float, default=1.0, help="seconds between status checks")
    add_target_arguments(wait)

    listing = command("list", "list jobs, newest first", _lazy("jobs_cli", "list_jobs"))
    listing.add_argument(
        "--status",
        choices=["QUEUED", "SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"],
        help="only jobs in this status",
    )
    listing.add_argument("--limit", type=int, default=20, help="jobs per page (1-100)")
    listing.add_argument("--next-token", default=None, help="the page after the one that printed this token")
    add_target_arguments(listing)

    up = command(
        "up",
        "start the whole pipeline locally (moto, the emulator, the API) and keep it running",
        _lazy("up", "up"),
    )
    for flag, what in (
        ("--port", "the AWS endpoint (moto)"),
        ("--api-port", "the HTTP API"),
        ("--emulator-port", "the Volcengine emulator"),
    ):
        port = DEFAULT_PORTS[flag[2:].replace("-", "_")]
        up.add_argument(
            flag, type=int, default=None, help=f"{what} (default: {port}, or a free port if busy; 0: any)"
        )
    add_service_limit_arguments(up)
    up.add_argument(
        "--auth",
        choices=["none", "iam"],
        default="none",
        help="iam: the API refuses calls without a valid SigV4 signature, as API Gateway does",
    )

    events = command(
        "events",
        "print the events a running `lipsync up` announced on its bus (read once)",
        _lazy("up", "events"),
    )
    events.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new events (JSON Lines with --json)"
    )
    events.add_argument(
        "--endpoint-url",
        default=None,
        help="the AWS endpoint lipsync up printed (default: $AWS_ENDPOINT_URL)",
    )

    emulator = command(
        "emulator", "run the Volcengine lip-sync emulator on its own", _lazy("emulator_cli", "emulator")
    )
    emulator.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    emulator.add_argument("--port", type=int, default=8500, help="0 picks a free port")
    emulator.add_argument("--access-key-id", required=True, help="the access key the emulator accepts")
    emulator.add_argument("--secret-access-key", required=True, help="its secret key")
    emulator.add_argument("--session-token", default=None, help="require this X-Security-Token")
    emulator.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    emulator.add_argument("--faults", default="", help="e.g. 'throttle:rate=0.2;task_failed:count=1'")
    emulator.add_argument("--seed", type=int, default=0, help="seed for fault rates and task ids")
    emulator.add_argument("--qps", type=float, default=0, help="calls per second per req_key (0: no limit)")
    emulator.add_argument(
        "--concurrency", type=int, default=0, help="unfinished tasks per req_key (0: no limit)"
    )
    emulator.add_argument("--result-url-ttl", type=float, default=3600.0, help="seconds a result URL lives")
    emulator.add_argument("--render-workers", type=int, default=2, help="threads rendering results")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    out = Output(args.command, as_json=args.json, quiet=args.quiet)
    return dispatch(args, out)


def dispatch(args: argparse.Namespace, out: Output) -> int:
    """Runs the command; whatever goes wrong becomes one sentence on stderr and an exit code."""
    from lipsync_client import JobTimeoutError, LipSyncError

    from .target import NoTargetError

    try:
        return int(args.func(args, out))
    except KeyboardInterrupt as interrupted:
        out.error(str(interrupted) or "interrupted")
        return codes.INTERRUPTED
    except (InputError, NoTargetError, ValueError) as error:
        out.error(str(error))
        return codes.USAGE
    except JobTimeoutError as error:
        out.error(str(error))
        return codes.TIMEOUT
    except LipSyncError as error:
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.errors[:3])
        out.error(f"{error.message}" + (f" ({details})" if details and details not in error.message else ""))
        return codes.USAGE if error.status == 400 else codes.API
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        out.error(f"{error.strerror or error}{where}")
        return codes.API
    except Exception as error:  # a bug of ours: still one line; LIPSYNC_DEBUG=1 shows the traceback
        import os

        if os.environ.get("LIPSYNC_DEBUG"):
            raise
        out.error(f"unexpected {type(error).__name__}: {error} (LIPSYNC_DEBUG=1 shows where)")
        return codes.INTERNAL


def entry() -> None:
    """The ``lipsync`` program. After Ctrl-C it leaves at once: what the interpreter would still do
    on its way out (finalising the in-memory local stack's modules and threads) takes seconds and
    holds nothing worth keeping; the command has already cleaned up its files."""
    import os

    code = main()
    if code == codes.INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
