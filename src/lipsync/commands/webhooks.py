"""``lipsync webhooks failed``: the webhook deliveries that still failed after Lambda's retries, as the
stack's failed-deliveries queue keeps them (Lambda's invocation records), read without removing them.

The queue: ``--queue URL`` (``lipsync up`` prints it as $LIPSYNC_FAILED_DELIVERIES_QUEUE), or a
deployed stack's ``FailedDeliveriesQueueUrl`` output (``--stack NAME``).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import HelpFormatter, add_command
from lipsync.cliutil.output import InputError, Output
from lipsync_core.jobs.entry.webhooks import KINDS

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands

QUEUE_ENV = "LIPSYNC_FAILED_DELIVERIES_QUEUE"
QUEUE_OUTPUT = "FailedDeliveriesQueueUrl"
HIDDEN_SECONDS = 30  # a message read stays hidden at most this long if the reading is cut short


def register(subcommands: Subcommands) -> None:
    summary = "webhook deliveries (failed: those that failed after every retry)"
    webhooks = subcommands.add_parser(
        "webhooks", help=summary, description=summary, formatter_class=HelpFormatter
    )
    actions = webhooks.add_subparsers(dest="webhooks_action", required=True, metavar="ACTION")
    failed = add_command(
        actions,
        "failed",
        "list the webhook deliveries that failed after every retry (kept, not removed)",
        failed_deliveries,
    )
    where = failed.add_mutually_exclusive_group()
    where.add_argument(
        "--queue",
        metavar="URL",
        default=os.environ.get(QUEUE_ENV),
        help=f"the failed-deliveries queue (default: ${QUEUE_ENV}, which lipsync up prints)",
    )
    where.add_argument("--stack", metavar="NAME", help=f"a deployed stack (its {QUEUE_OUTPUT} output)")
    failed.add_argument("--region", default=None, help="the stack's AWS region")


def failed_deliveries(args: argparse.Namespace, out: Output) -> int:
    import boto3

    session = boto3.Session(region_name=args.region)
    queue = _stack_queue(session, args.stack) if args.stack else args.queue
    if not queue:
        raise InputError(f"say which queue: --queue URL (lipsync up prints ${QUEUE_ENV}) or --stack NAME")
    failures = [entry for entry in map(describe, read_queue(session.client("sqs"), queue)) if entry]
    human = "\n".join(
        f"{f['failed_at']}  {f['job_id']}  {f['event']}  after {f['tries']} tries: {f['error']}"
        for f in failures
    )
    out.result(
        failures,
        human=human or "no failed webhook deliveries",
        quiet="\n".join(f["job_id"] for f in failures),
    )
    return codes.OK


def read_queue(sqs: Any, queue: str) -> list[dict[str, Any]]:
    """Every message's body, read once (each hidden while the reading goes on, so none is read twice)
    and then made visible again: reading removes nothing."""
    bodies: list[dict[str, Any]] = []
    handles: list[str] = []
    try:
        while True:
            answer = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=HIDDEN_SECONDS
            )
            messages = answer.get("Messages", [])
            if not messages:
                return bodies
            bodies += [json.loads(message["Body"]) for message in messages]
            handles += [message["ReceiptHandle"] for message in messages]
    finally:
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ]
            sqs.change_message_visibility_batch(QueueUrl=queue, Entries=entries)


def describe(record: dict[str, Any]) -> dict[str, Any] | None:
    """One failed webhook delivery from Lambda's invocation record; None for other failed deliveries
    (the queue also keeps requests the stack could not take in)."""
    event = record.get("requestPayload") or {}
    kind = KINDS.get(str(event.get("detail-type")))
    if kind is None:
        return None
    response = record.get("responsePayload") or {}
    return {
        "job_id": (event.get("detail") or {}).get("job_id", ""),
        "event": kind,
        "event_id": event.get("id"),
        "failed_at": record.get("timestamp"),
        "tries": (record.get("requestContext") or {}).get("approximateInvokeCount"),
        "error": response.get("errorMessage") or response.get("errorType") or "unknown",
    }


def _stack_queue(session: Any, stack: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        [description] = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise InputError(f"cannot read stack {stack}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    if QUEUE_OUTPUT not in outputs:
        raise InputError(f"stack {stack} has no {QUEUE_OUTPUT} output (deployed before it had one?)")
    return str(outputs[QUEUE_OUTPUT])
