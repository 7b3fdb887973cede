"""``lipsync``: the command line of the local runtime and the emulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(_: argparse.Namespace) -> int:
    from lipsync.demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lipsync", description="Lip-sync video jobs, on AWS or offline.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a lip-sync job end to end on this machine")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
