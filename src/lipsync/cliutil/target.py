"""Which stack a command talks to: ``--stack NAME`` (deployed, SigV4 with the user's credentials) or
``--endpoint URL`` (``lipsync up``, or any API URL), defaulting to $LIPSYNC_STACK / $LIPSYNC_ENDPOINT."""

from __future__ import annotations

import argparse
import os
from typing import Any

from lipsync_client import LipSync

from .output import InputError

# The limits `lipsync up`, `run` and `demo` give the emulator (and so the stack's flow control), unless
# told otherwise: conservative, like a new account's quota, so that a user sees the limits at work.
LOCAL_SERVICE_QPS = 2.0
LOCAL_SERVICE_UNFINISHED = 5


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


def add_service_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's limits for a local stack (the stack's flow control follows them)."""
    group = parser.add_argument_group("the local service's limits")
    group.add_argument(
        "--service-qps",
        type=float,
        default=LOCAL_SERVICE_QPS,
        metavar="N",
        help="requests per second per action and mode, as the service allows (0: no limit)",
    )
    group.add_argument(
        "--service-unfinished",
        type=int,
        default=LOCAL_SERVICE_UNFINISHED,
        metavar="N",
        help="unfinished tasks per mode at once, as the service allows (0: no limit)",
    )
    add_input_limits_argument(group)


def add_input_limits_argument(parser: Any) -> None:
    parser.add_argument(
        "--input-limits",
        default="",
        metavar="SPEC",
        help="input durations per mode, e.g. 'lite.max_voice_seconds=30,basic.max_video_seconds=60' "
        "(default: what integrators report: voices of 1-240 s on lite, 1-150 s on basic)",
    )


def input_limits(args: argparse.Namespace) -> Any:
    """The emulator's input limits: the reported defaults, changed by ``--input-limits``."""
    from lipsync.emulator.input_limits import InputLimits

    try:
        return InputLimits().with_spec(getattr(args, "input_limits", "") or "")
    except ValueError as error:
        raise InputError(f"--input-limits: {error}") from None


def service_config(args: argparse.Namespace) -> Any:
    """The emulator's configuration from ``add_service_limit_arguments``' flags."""
    from lipsync.emulator import ServiceConfig

    qps, unfinished = getattr(args, "service_qps", 0), getattr(args, "service_unfinished", 0)
    if qps < 0 or unfinished < 0:
        raise InputError("--service-qps and --service-unfinished must not be negative")
    return ServiceConfig(qps=qps, concurrency=unfinished, input_limits=input_limits(args))
