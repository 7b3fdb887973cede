"""``lipsync doctor``: before a deploy, read-only checks of the account and region of your AWS
credentials (``lipsync.doctor.checks``), one line each with its fix; exit code 5 when one fails."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command
from lipsync.cliutil.output import Output

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands
    from lipsync.doctor.checks import Plan


def register(subcommands: Subcommands) -> None:
    parser = add_command(
        subcommands,
        "doctor",
        "check the AWS account and region of your credentials before a deploy (read-only)",
        doctor,
    )
    parser.add_argument("--stack-name", default="LipSync", help="the stack to deploy (its secret is checked)")
    parser.add_argument(
        "--powertools-layer",
        choices=["bundled", "managed"],
        default="bundled",
        help="as lipsync:powertools_layer",
    )
    parser.add_argument("--architecture", choices=["x86_64", "arm64"], default="x86_64")
    parser.add_argument(
        "--no-api-cloud-watch-role", action="store_true", help="as api_cloud_watch_role=false"
    )
    parser.add_argument(
        "--max-unfinished-tasks", type=int, default=10, help="as lipsync:max_unfinished_tasks"
    )
    parser.add_argument("--submit-qps", type=float, default=1.0, help="as lipsync:submit_qps")
    parser.add_argument("--poll-qps", type=float, default=5.0, help="as lipsync:poll_qps")


def plan_from(args: argparse.Namespace) -> Plan:
    """What the deploy would build; the Lambda target's details from the constructs when installed."""
    from lipsync.doctor.checks import Plan

    try:
        if TYPE_CHECKING:  # the repository's name for what is installed as lipsync_infra
            from infra.lambda_target import DEFAULT_PYTHON, LambdaTarget, find_interpreter
        else:
            from lipsync_infra.lambda_target import DEFAULT_PYTHON, LambdaTarget, find_interpreter
    except ImportError:  # the base install: no constructs, no synth
        return Plan(
            stack_name=args.stack_name,
            powertools_layer=args.powertools_layer,
            api_cloud_watch_role=not args.no_api_cloud_watch_role,
            max_unfinished_tasks=args.max_unfinished_tasks,
            submit_qps=args.submit_qps,
            poll_qps=args.poll_qps,
        )
    target = LambdaTarget(DEFAULT_PYTHON, args.architecture, args.powertools_layer)
    return Plan(
        stack_name=args.stack_name,
        powertools_layer=args.powertools_layer,
        powertools_parameter=target.powertools_parameter,
        api_cloud_watch_role=not args.no_api_cloud_watch_role,
        max_unfinished_tasks=args.max_unfinished_tasks,
        submit_qps=args.submit_qps,
        poll_qps=args.poll_qps,
        python_version=target.python_version,
        find_python=find_interpreter,
    )


def doctor(args: argparse.Namespace, out: Output) -> int:
    """One line per check on stdout (JSON with --json); exit code 5 if any failed."""
    import boto3

    from lipsync.doctor.checks import run_checks

    findings = run_checks(boto3.Session(), plan_from(args))
    failed = [f for f in findings if f.status == "fail"]
    out.result(
        [vars(f) for f in findings],
        human="\n".join(f.line() for f in findings),
        quiet="\n".join(f.check for f in failed),
    )
    return codes.CHECK_FAILED if failed else codes.OK
