"""``lipsync events``: what a running ``lipsync up`` announced on its bus, read (and removed) once or
followed until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command
from lipsync.cliutil.output import InputError, Output

from .up import EVENTS_QUEUE, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, endpoints_region

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    reading = add_command(
        subcommands,
        "events",
        "print the events a running `lipsync up` announced on its bus (read once)",
        events,
    )
    reading.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new events (JSON Lines with --json)"
    )
    reading.add_argument(
        "--endpoint-url",
        default=None,
        help="the AWS endpoint lipsync up printed (default: $AWS_ENDPOINT_URL)",
    )


def events(args: argparse.Namespace, out: Output) -> int:
    """Reads (and removes) what `lipsync up` announced; with --follow, until Ctrl-C."""
    import boto3

    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise InputError("say where lipsync up runs: --endpoint-url URL or $AWS_ENDPOINT_URL")
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=endpoints_region(),
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
    )
    try:
        queue = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
    except Exception:
        raise InputError(f"no lipsync up stack answers at {endpoint}") from None
    collected: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1 if args.follow else 0
        )
        for message in answer.get("Messages", []):
            event = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            if args.follow:
                _print_event(event, out)
            else:
                collected.append(event)
        if not args.follow and not answer.get("Messages"):
            break
    human = "\n".join(json.dumps(e) for e in collected) or "no new events"
    out.result(collected, human=human, quiet="\n".join(e.get("detail-type", "") for e in collected))
    return codes.OK


def _print_event(event: dict[str, Any], out: Output) -> None:
    if out.as_json:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    elif out.quiet:
        print(event.get("detail-type", ""), flush=True)
    else:
        out.console.print(json.dumps(event), markup=False)
