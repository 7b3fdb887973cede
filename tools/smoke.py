"""``make smoke``: the stack on a real AWS account, one job through each entry point, then gone.

Deploys to the account and region of the current credentials as a stack of its own (its own stack,
bus and secret names, so it can sit beside a production stack), copies the Volcengine key from the
operator's secret into the stack's, runs one job through the REST API, one through an S3 manifest
and one through an EventBridge request, checks that each ends in exactly one ``LipSync Job Succeeded``
event with its result in the bucket, prints an estimate of what the run cost, and destroys the stack
and the data it retains on purpose unless ``--keep``. Never run in CI: it needs an AWS account and a
Volcengine key, and it costs money.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
from jsonschema import Draft202012Validator

from lipsync.media.samples import make_talking_head, make_voice
from lipsync_core.jobs.domain.contract import DetailType
from tools.aws_prices import Usage
from tools.smoke_costs import StackOutputs, describe, parse_report, with_reports
from tools.smoke_stack import CDK, ROOT, SmokeError, SmokeStack

REQUEST_SOURCE = "lipsync.client"  # one of the request rule's allowed sources (cdk.json)
PIPELINE_SOURCE = "lipsync.pipeline"
ENTRY_POINTS = ("api", "s3", "eventbridge")
SUCCEEDED_SCHEMA = Draft202012Validator(
    json.loads((ROOT / "schemas" / "events" / "lipsync-job-succeeded.schema.json").read_text())
)
SUMMARY = "Deploy the stack to the current AWS account, run a job through each entry point, destroy it."


@dataclass
class Smoke:
    session: boto3.Session
    run_id: str
    source_secret: str
    stack: SmokeStack
    work: Path
    usage: Usage = field(default_factory=Usage)
    capture: tuple[str, str] | None = None  # (rule name, queue url)

    def client(self, name: str) -> Any:
        return self.session.client(name)

    def job_id(self, entry_point: str) -> str:
        return f"smoke-{self.run_id}-{entry_point}"

    @property
    def outputs(self) -> StackOutputs:
        if self.stack.outputs is None:
            raise SmokeError(f"the stack {self.stack.name} is not deployed")
        return self.stack.outputs

    def copy_volcengine_key(self) -> None:
        manager = self.client("secretsmanager")
        try:
            value = manager.get_secret_value(SecretId=self.source_secret)["SecretString"]
        except ClientError as error:
            code = error.response["Error"]["Code"]
            raise SmokeError(
                f"cannot read the Volcengine key from secret {self.source_secret}: {code}"
            ) from None
        key = json.loads(value)
        if not key.get("secret_access_key") or key.get("access_key_id") in (None, "", "REPLACE_ME"):
            raise SmokeError(f"secret {self.source_secret} holds no Volcengine access key yet")
        manager.put_secret_value(SecretId=self.outputs.secret_arn, SecretString=value)

    def capture_events(self) -> None:
        """Every event the pipeline announces also goes to a queue of the run's own."""
        events, sqs = self.client("events"), self.client("sqs")
        rule = f"lipsync-smoke-{self.run_id}-capture"
        rule_arn = events.put_rule(
            Name=rule, EventBusName=self.outputs.bus, EventPattern=json.dumps({"source": [PIPELINE_SOURCE]})
        )["RuleArn"]
        queue_url = sqs.create_queue(QueueName=f"lipsync-smoke-{self.run_id}-events")["QueueUrl"]
        self.capture = (rule, queue_url)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        events.put_targets(
            Rule=rule, EventBusName=self.outputs.bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )

    # -- jobs -----------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """A SigV4-signed call to the IAM-authorised API, as the current credentials."""
        url = f"{self.outputs.api_url}{path}"
        data = json.dumps(body) if body is not None else None
        request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        credentials = self.session.get_credentials()
        assert credentials is not None
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.session.region_name).add_auth(
            request
        )
        self.usage = replace(self.usage, api_requests=self.usage.api_requests + 1)
        return requests.request(method, url, data=data, headers=dict(request.headers), timeout=30)

    def start_jobs(self) -> None:
        s3 = self.client("s3")
        prefix = f"inputs/smoke-{self.run_id}"
        for name, path in (
            ("face.mp4", make_talking_head(self.work / "face.mp4", seconds=3)),
            ("voice.wav", make_voice(self.work / "voice.wav", seconds=3)),
        ):
            s3.upload_file(str(path), self.outputs.bucket, f"{prefix}/{name}")

        def request(entry_point: str) -> dict[str, Any]:
            return {
                "mode": "lite",
                "video": f"s3://{self.outputs.bucket}/{prefix}/face.mp4",
                "audio": f"s3://{self.outputs.bucket}/{prefix}/voice.wav",
                "job_id": self.job_id(entry_point),
            }

        answer = self.api("POST", "/jobs", request("api"))
        if answer.status_code != 202:
            raise SmokeError(f"the API answered {answer.status_code} to a job request: {answer.text[:300]}")
        s3.put_object(
            Bucket=self.outputs.bucket,
            Key=f"jobs/smoke-{self.run_id}.json",
            Body=json.dumps(request("s3")).encode(),
            ContentType="application/json",
        )
        put = self.client("events").put_events(
            Entries=[
                {
                    "EventBusName": self.outputs.bus,
                    "Source": REQUEST_SOURCE,
                    "DetailType": DetailType.REQUESTED,
                    "Detail": json.dumps(request("eventbridge")),
                }
            ]
        )
        if put["FailedEntryCount"]:
            raise SmokeError(f"EventBridge refused the job request: {put['Entries'][0].get('ErrorMessage')}")
        self.usage = replace(self.usage, events_put=self.usage.events_put + 1)
        print(f"started {', '.join(self.job_id(e) for e in ENTRY_POINTS)}", flush=True)

    def wait_for_terminal_events(self, timeout: float) -> dict[str, list[dict[str, Any]]]:
        """Each job's terminal events, read from the capture queue until all have one (or time is up)."""
        assert self.capture
        sqs = self.client("sqs")
        wanted = {self.job_id(e) for e in ENTRY_POINTS}
        terminal: dict[str, list[dict[str, Any]]] = {job: [] for job in wanted}
        finish_by = time.monotonic() + timeout
        drained_once_more = False
        while time.monotonic() < finish_by:
            answer = sqs.receive_message(QueueUrl=self.capture[1], MaxNumberOfMessages=10, WaitTimeSeconds=20)
            for message in answer.get("Messages", []):
                event = json.loads(message["Body"])
                self.usage = replace(self.usage, events_put=self.usage.events_put + 1)
                job = event.get("detail", {}).get("job_id")
                if job in terminal and event["detail-type"] in (DetailType.SUCCEEDED, DetailType.FAILED):
                    terminal[job].append(event)
                sqs.delete_message(QueueUrl=self.capture[1], ReceiptHandle=message["ReceiptHandle"])
            if all(terminal.values()):
                if drained_once_more:  # one more long poll: a duplicate terminal event would show here
                    return terminal
                drained_once_more = True
        return terminal

    def check(self, terminal: dict[str, list[dict[str, Any]]]) -> list[str]:
        """What went wrong, one sentence each (empty: every job succeeded once, with its result)."""
        problems = []
        s3 = self.client("s3")
        for job, found in sorted(terminal.items()):
            kinds = [e["detail-type"] for e in found]
            if kinds != [DetailType.SUCCEEDED]:
                detail = found[0]["detail"].get("error") if found else None
                problems.append(f"{job}: terminal events {kinds or 'none'} (error: {detail})")
                continue
            schema_errors = list(SUCCEEDED_SCHEMA.iter_errors(found[0]["detail"]))
            if schema_errors:
                problems.append(f"{job}: the event breaks its schema: {schema_errors[0].message}")
            output = found[0]["detail"]["output"]
            head = s3.head_object(Bucket=output["bucket"], Key=output["key"])
            if head["ContentLength"] != output["size_bytes"]:
                problems.append(f"{job}: the result object's size differs from the event's")
            status = self.api("GET", f"/jobs/{job}").json().get("status")
            if status != "SUCCEEDED":
                problems.append(f"{job}: the API reports {status}")
            print(f"{job}: {kinds[0]}, {output['uri']} ({output['size_bytes']:,} bytes)", flush=True)
        return problems

    # -- cost -----------------------------------------------------------------------------------

    def measure(self) -> Usage:
        stepfunctions, logs = self.client("stepfunctions"), self.client("logs")
        transitions = 0
        for execution in stepfunctions.list_executions(stateMachineArn=self.outputs.state_machine_arn)[
            "executions"
        ]:
            for page in stepfunctions.get_paginator("get_execution_history").paginate(
                executionArn=execution["executionArn"]
            ):
                transitions += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
        reports = []
        for group in self.stack.resources.get("AWS::Logs::LogGroup", []):
            for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, filterPattern='"REPORT RequestId"'
            ):
                reports += [r for e in page["events"] if (r := parse_report(e["message"]))]
        return with_reports(replace(self.usage, transitions=transitions), reports)

    # -- teardown -------------------------------------------------------------------------------

    def finish(self) -> list[str]:
        """Remove the run's event capture, then the stack and its data; what could not be removed."""
        if self.capture:
            rule, queue_url = self.capture
            events = self.client("events")
            try:
                events.remove_targets(Rule=rule, EventBusName=self.outputs.bus, Ids=["queue"])
                events.delete_rule(Name=rule, EventBusName=self.outputs.bus)
                self.client("sqs").delete_queue(QueueUrl=queue_url)
            except ClientError as error:  # the bus cannot go while the rule is there: keep the stack
                return [f"the event capture {rule} ({error.response['Error']['Code']}), and so the stack"]
        return self.stack.destroy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=SUMMARY)
    parser.add_argument("--keep", action="store_true", help="leave the stack deployed (KEEP=1)")
    parser.add_argument("--source-secret", default="lipsync/volcengine", help="where the Volcengine key is")
    parser.add_argument("--timeout", type=float, default=45 * 60, help="seconds to wait for the jobs")
    args = parser.parse_args(argv)
    session = boto3.Session()
    if not session.region_name:
        print("No AWS region is configured: set AWS_REGION or a profile's region.", file=sys.stderr)
        return 2
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except Exception as error:
        print(f"No usable AWS credentials: {type(error).__name__}.", file=sys.stderr)
        return 2
    run_id = time.strftime("%m%d%H%M") + uuid.uuid4().hex[:4]
    with tempfile.TemporaryDirectory(prefix="lipsync-smoke-") as work:
        stack = SmokeStack(session, run_id, Path(work))
        smoke = Smoke(session, run_id, args.source_secret, stack, Path(work))
        print(f"smoke run {run_id}: stack {stack.name} in {account}/{session.region_name}", flush=True)
        problems: list[str] = []
        try:
            stack.deploy()
            smoke.copy_volcengine_key()
            smoke.capture_events()
            smoke.start_jobs()
            problems = smoke.check(smoke.wait_for_terminal_events(args.timeout))
            print(describe(smoke.measure()), flush=True)
        except (SmokeError, ClientError, requests.RequestException) as failure:
            problems = [str(failure)]
        finally:
            if args.keep:
                print(f"kept: remove it with `{CDK} destroy {stack.name}` and its retained data")
            else:
                problems += [f"left behind: {leftover}" for leftover in smoke.finish()]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
