"""``lipsync``: one command line for the jobs API (deployed or local), the local runtime and the
emulator. Results go to stdout (``--json``: one JSON document; ``--quiet``: the bare value), errors to
stderr in one sentence, and the exit code says what happened (see ``lipsync --help``). The commands are
in ``lipsync.commands``; this module assembles them and turns what goes wrong into exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import HelpFormatter
from lipsync.cliutil.output import EXIT_CODES, Output
from lipsync.commands import COMMANDS


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lipsync-pipeline")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lipsync",
        description="Lip-sync video jobs, on a deployed stack or offline.",
        epilog="exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lipsync {_version()}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    out = Output(args.command, as_json=args.json, quiet=args.quiet)
    return dispatch(args, out)


def dispatch(args: argparse.Namespace, out: Output) -> int:
    """Runs the command; whatever goes wrong becomes one sentence on stderr and an exit code."""
    from lipsync_client import JobTimeoutError, LipSyncError

    try:
        return int(args.func(args, out))
    except KeyboardInterrupt as interrupted:
        out.error(str(interrupted) or "interrupted")
        return codes.INTERRUPTED
    except ValueError as error:  # InputError, NoTargetError: a target, file, option or value refused
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
        if os.environ.get("LIPSYNC_DEBUG"):
            raise
        out.error(f"unexpected {type(error).__name__}: {error} (LIPSYNC_DEBUG=1 shows where)")
        return codes.INTERNAL


def entry() -> None:
    """The ``lipsync`` program. After Ctrl-C it leaves at once: what the interpreter would still do
    on its way out (finalising the in-memory local stack's modules and threads) takes seconds and
    holds nothing worth keeping; the command has already cleaned up its files."""
    code = main()
    if code == codes.INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
