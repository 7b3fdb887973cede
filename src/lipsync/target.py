"""Which stack a command talks to: ``--stack NAME`` (deployed, SigV4 with the user's credentials) or
``--endpoint URL`` (``lipsync up``, or any API URL), defaulting to $LIPSYNC_STACK / $LIPSYNC_ENDPOINT."""

from __future__ import annotations

import argparse
import os

from lipsync_client import LipSync


class NoTargetError(ValueError):
    pass


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which stack")
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--stack",
        metavar="NAME",
        default=os.environ.get("LIPSYNC_STACK"),
        help="a deployed stack, by its CloudFormation name (default: $LIPSYNC_STACK)",
    )
    where.add_argument(
        "--endpoint",
        metavar="URL",
        default=os.environ.get("LIPSYNC_ENDPOINT"),
        help="an API URL, such as the one lipsync up prints (default: $LIPSYNC_ENDPOINT)",
    )
    group.add_argument(
        "--region", default=None, help="the stack's AWS region (default: your AWS configuration's)"
    )


def client_for(args: argparse.Namespace, *, required: bool = True) -> LipSync | None:
    if args.stack:
        return LipSync.for_stack(args.stack, region=args.region)
    if args.endpoint:
        return LipSync(args.endpoint, region=args.region)
    if required:
        raise NoTargetError("say which stack: --stack NAME or --endpoint URL (lipsync up prints the URL)")
    return None
