"""``lipsync up``: the local stack, kept running until Ctrl-C, on fixed ports (a busy default falls
back to a free port, with a message), with the environment to paste for the AWS CLI, a line per API
request and per job transition (``lipsync events`` reads what it announced)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from lipsync.cliutil import output as codes
from lipsync.cliutil.arguments import add_command
from lipsync.cliutil.interrupts import abandon, ctrl_c_once
from lipsync.cliutil.output import InputError, Output
from lipsync.cliutil.target import add_service_limit_arguments, service_config

if TYPE_CHECKING:
    from lipsync.cliutil.arguments import Subcommands

DEFAULT_PORTS = {"port": 5000, "api_port": 3000, "emulator_port": 8500}
EVENTS_QUEUE = "lipsync-events"  # `lipsync events` reads here; the runtime's own capture queue is its own
EVENTS_RULE = "lipsync-events-for-cli"
# Locally any credentials will do for moto; with --auth iam the API wants signatures made with this secret.
LOCAL_ACCESS_KEY_ID = "local"
LOCAL_SECRET_ACCESS_KEY = "local"  # noqa: S105 - a published local-only value
WATCH_SECONDS = 0.5  # how often the transition log looks at the job table


def register(subcommands: Subcommands) -> None:
    starting = add_command(
        subcommands,
        "up",
        "start the whole pipeline locally (moto, the emulator, the API) and keep it running",
        up,
    )
    for flag, what in (
        ("--port", "the AWS endpoint (moto)"),
        ("--api-port", "the HTTP API"),
        ("--emulator-port", "the Volcengine emulator"),
    ):
        port = DEFAULT_PORTS[flag[2:].replace("-", "_")]
        starting.add_argument(
            flag, type=int, default=None, help=f"{what} (default: {port}, or a free port if busy; 0: any)"
        )
    add_service_limit_arguments(starting)
    starting.add_argument(
        "--auth",
        choices=["none", "iam"],
        default="none",
        help="iam: the API refuses calls without a valid SigV4 signature, as API Gateway does",
    )


def pick_port(value: int | None, flag: str, out: Output) -> int:
    """The port asked for (busy: an error), or the default (busy: a free port, said once)."""
    port = DEFAULT_PORTS[flag] if value is None else value
    name = "--" + flag.replace("_", "-")
    if port == 0:
        return 0
    if not 1 <= port <= 65535:
        raise InputError(f"{name} {port} is not a port number (1-65535, or 0 for any free port)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except PermissionError:
            raise InputError(f"{name} {port} needs privileges this user does not have") from None
        except OSError:
            if value is not None:
                raise InputError(f"{name} {port} is already in use") from None
            out.log(f"port {port} ({name}) is busy: using a free port instead")
            return 0
    return port


def _limits(args: argparse.Namespace) -> str:
    qps, unfinished = args.service_qps, args.service_unfinished
    rate = f"{qps:g} requests/s per action" if qps else "no request limit"
    tasks = f"{unfinished} unfinished tasks" if unfinished else "no task limit"
    return f"(limits: {rate}, {tasks}; --service-qps, --service-unfinished)"


def _banner(endpoints: Any, auth: str, limits: str = "") -> str:
    aws, api = endpoints.aws, endpoints.api
    request = json.dumps(
        {
            "mode": "lite",
            "video": f"s3://{endpoints.bucket}/inputs/face.mp4",
            "audio": f"s3://{endpoints.bucket}/inputs/voice.wav",
        }
    )
    event = json.dumps(
        [
            {
                "EventBusName": endpoints.bus,
                "Source": "lipsync.client",  # the request rule's allowed sources (cdk.json)
                "DetailType": "LipSync Job Requested",
                "Detail": request,
            }
        ]
    )
    signed = (
        "checks SigV4 signatures (--auth iam): sign with the secret key below"
        if auth == "iam"
        else "signatures not checked; --auth iam checks them"
    )
    return f"""[bold green]lip-sync pipeline running locally[/]

  AWS (moto)         {aws}   bucket [bold]{endpoints.bucket}[/], bus [bold]{endpoints.bus}[/]
  HTTP API           {api}   ({signed})
  Volcengine (emu)   {endpoints.emulator}   {limits}

In another shell (moto accepts any credentials; the region must be this one):
export AWS_ENDPOINT_URL={aws} AWS_DEFAULT_REGION={endpoints_region()}
export AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_ACCESS_KEY}
export LIPSYNC_ENDPOINT={api} LIPSYNC_FAILED_DELIVERIES_QUEUE={endpoints.failed_deliveries_queue_url}

Start a job:
  lipsync run face.mp4 voice.wav --endpoint {api}
  lipsync submit face.mp4 voice.wav && lipsync wait JOB_ID
  curl -s -X POST {api}/jobs -H 'Content-Type: application/json' -d '{request}'
  aws s3 cp face.mp4 s3://{endpoints.bucket}/inputs/face.mp4
  aws s3 cp job.json s3://{endpoints.bucket}/jobs/job.json
  aws events put-events --entries '{event}'
Follow it:   lipsync status JOB_ID   lipsync list   lipsync events --follow
Results:     aws s3 ls s3://{endpoints.bucket}/outputs/
Webhooks:    signed with the key this prints (verify_webhook(headers, body, secret)):
  aws secretsmanager get-secret-value --query SecretString --output text \
    --secret-id {endpoints.webhook_secret_arn}
  deliveries that failed after every retry are kept: lipsync webhooks failed

Ctrl-C stops everything."""


def endpoints_region() -> str:
    from lipsync.local.template import REGION

    return REGION


def _authorizer(auth: str) -> Any:
    if auth != "iam":
        return None
    from lipsync.local.sigv4 import SignatureError, verify

    def check(method: str, url: str, headers: dict[str, str], body: bytes | None) -> str | None:
        try:
            verify(method, url, headers, body, secret_access_key=LOCAL_SECRET_ACCESS_KEY)
        except SignatureError as error:
            return str(error)
        return None

    return check


def _events_queue(runtime: Any) -> str:
    """A queue of its own for `lipsync events`, fed by a rule on the bus like the runtime's capture."""
    sqs, bus = runtime.client("sqs"), runtime.endpoints.bus
    url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = runtime.client("events")
    events.put_rule(Name=EVENTS_RULE, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule=EVENTS_RULE, EventBusName=bus, Targets=[{"Id": "cli", "Arn": arn}])
    return str(url)


def _watch_jobs(runtime: Any, out: Output, stopped: threading.Event) -> None:
    """One line per job status change (the job table) and per announced event (the capture queue)."""
    table = runtime.endpoints.table
    dynamodb = runtime.client("dynamodb")
    seen: dict[str, str] = {}
    while True:
        last = stopped.is_set()  # one more look after the stop, before the stack goes: the last changes
        try:
            pages = dynamodb.get_paginator("scan").paginate(
                TableName=table, ProjectionExpression="job_id, #s", ExpressionAttributeNames={"#s": "status"}
            )
            for page in pages:
                for item in page.get("Items", []):
                    if "status" not in item:  # a batch's record, not a job
                        continue
                    job_id, status = item["job_id"]["S"], item["status"]["S"]
                    if seen.get(job_id) != status:
                        seen[job_id] = status
                        out.log(f"{time.strftime('%H:%M:%S')} job {job_id} {status}")
            for event in runtime.stack.receive_events(wait_seconds=0):
                detail = event.get("detail", {})
                out.log(
                    f"{time.strftime('%H:%M:%S')} event {event['detail-type']} {detail.get('job_id', '')}"
                )
        except Exception as error:  # the log must not end the stack
            out.log(f"(job log: {type(error).__name__})")
        if last:
            return
        stopped.wait(WATCH_SECONDS)


class _OneLineLog(logging.Handler):
    def __init__(self, out: Output) -> None:
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        reason = f": {type(error).__name__}: {error}" if error else ""
        self.out.log(f"{time.strftime('%H:%M:%S')} {record.getMessage()}{reason}")


def up(args: argparse.Namespace, out: Output) -> int:
    from lipsync.local.runtime import LocalPorts, LocalRuntime

    ports = LocalPorts(
        aws=pick_port(args.port, "port", out),
        api=pick_port(args.api_port, "api_port", out),
        emulator=pick_port(args.emulator_port, "emulator_port", out),
    )
    stopped = threading.Event()

    def stop(*_: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the way out
        stopped.set()

    def log_request(method: str, path: str, status: int) -> None:
        out.log(f"{time.strftime('%H:%M:%S')} API {method} {path} {status}")

    # Many jobs at once share each in-process boto3 client's ten connections: urllib3 says so, harmlessly.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # A trigger's handler that fails (a webhook answering 500, to be retried) is one line, not a traceback.
    triggers = logging.getLogger("lipsync.local.triggers")
    triggers.handlers, triggers.propagate = [_OneLineLog(out)], False
    runtime = LocalRuntime(
        ports=ports,
        authorizer=_authorizer(args.auth),
        on_request=log_request,
        emulator_config=service_config(args),
    )
    with ctrl_c_once():  # Ctrl-C while starting: what started is stopped, once
        if out.interactive:
            with out.console.status("starting moto, the emulator and the synthesized stack"):
                endpoints = runtime.start()
        else:
            endpoints = runtime.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    watcher = threading.Thread(target=_watch_jobs, args=(runtime, out, stopped), daemon=True)
    try:
        queue = _events_queue(runtime)
        document = {**vars(endpoints), "events_queue": queue, "region": endpoints_region()}
        out.result(document, human=_banner(endpoints, args.auth, _limits(args)), quiet=endpoints.api)
        watcher.start()
        stopped.wait()
    except BaseException:
        stopped.set()
        if watcher.is_alive():
            watcher.join()
        runtime.stop()
        raise
    # Stopped (Ctrl-C or SIGTERM): the job log's last look, the emulator's work directory (the only
    # files the stack writes), then out at once; the rest lives in memory and in threads (as `run`).
    watcher.join()
    abandon(runtime)
    out.say("stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(codes.OK)
