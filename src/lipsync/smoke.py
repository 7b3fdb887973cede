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
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from lipsync.samples import make_talking_head, make_voice
from lipsync.smoke_costs import StackOutputs, Usage, describe, parse_outputs, parse_report
from lipsync_core.jobs import events as job_events

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
REQUEST_SOURCE = "lipsync.client"  # one of the request rule's allowed sources (cdk.json)
PIPELINE_SOURCE = "lipsync.pipeline"
ENTRY_POINTS = ("api", "s3", "eventbridge")
RETAINED = ("AWS::S3::Bucket", "AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret")
SUMMARY = "Deploy the stack to the current AWS account, run a job through each entry point, destroy it."


class SmokeError(Exception):
    """The run cannot go on, or a check failed: one sentence for stderr."""


@dataclass
class Smoke:
    session: boto3.Session
    run_id: str
    source_secret: str
    work: Path
    outputs: StackOutputs | None = None
    usage: Usage = field(default_factory=Usage)
    capture: tuple[str, str] | None = None  # (rule name, queue url)
    resources: dict[str, list[str]] = field(default_factory=dict)  # type -> physical ids, of some types

    @property
    def stack_name(self) -> str:
        return f"LipSyncSmoke{self.run_id}"

    @cached_property
    def context(self) -> dict[str, str]:
        values = {
            "lipsync:stack_name": self.stack_name,
            "lipsync:event_bus_name": f"lipsync-smoke-{self.run_id}",
            "lipsync:secret_name": f"lipsync-smoke/{self.run_id}",
        }
        # The stage logs need an account-level API Gateway role: create one only where none is set.
        if not self.client("apigateway").get_account().get("cloudwatchRoleArn"):
            values["lipsync:api_cloud_watch_role"] = "true"
        return values

    def client(self, name: str) -> Any:
        return self.session.client(name)

    def job_id(self, entry_point: str) -> str:
        return f"smoke-{self.run_id}-{entry_point}"

    # -- deploy ---------------------------------------------------------------------------------

    def deploy(self) -> StackOutputs:
        try:
            self.client("cloudformation").describe_stacks(StackName="CDKToolkit")
        except ClientError:
            raise SmokeError(
                "this account and region are not bootstrapped for the CDK: run `node_modules/.bin/cdk "
                "bootstrap`"
            ) from None
        outputs_file = self.work / "outputs.json"
        self.cdk("deploy", "--require-approval", "never", "--outputs-file", str(outputs_file))
        self.outputs = parse_outputs(outputs_file.read_text(), self.stack_name)
        self.resources = self.stack_resources()
        return self.outputs

    def cdk(self, *arguments: str) -> None:
        command = [str(CDK), *arguments, self.stack_name]
        for key, value in self.context.items():
            command += ["-c", f"{key}={value}"]
        print("$", " ".join(command), flush=True)
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603 - our CDK CLI
            raise SmokeError(f"cdk {arguments[0]} of {self.stack_name} failed (its output is above)")

    def stack_resources(self) -> dict[str, list[str]]:
        """The resources the stack retains on purpose (removed after the run) and its log groups."""
        found: dict[str, list[str]] = {}
        pages = self.client("cloudformation").get_paginator("list_stack_resources")
        for page in pages.paginate(StackName=self.stack_name):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] in (*RETAINED, "AWS::Logs::LogGroup"):
                    found.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
        return found

    def copy_volcengine_key(self) -> None:
        assert self.outputs
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
        assert self.outputs
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
        assert self.outputs
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
        assert self.outputs
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
                "video": f"s3://{self.outputs.bucket}/{prefix}/face.mp4",  # type: ignore[union-attr]
                "audio": f"s3://{self.outputs.bucket}/{prefix}/voice.wav",  # type: ignore[union-attr]
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
                    "DetailType": job_events.REQUESTED,
                    "Detail": json.dumps(request("eventbridge")),
                }
            ]
        )
        if put["FailedEntryCount"]:
            raise SmokeError(f"EventBridge refused the job request: {put['Entries'][0].get('ErrorMessage')}")
        self.usage = replace(self.usage, events=self.usage.events + 1)
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
                self.usage = replace(self.usage, events=self.usage.events + 1)
                job = event.get("detail", {}).get("job_id")
                if job in terminal and event["detail-type"] in (job_events.SUCCEEDED, job_events.FAILED):
                    terminal[job].append(event)
                sqs.delete_message(QueueUrl=self.capture[1], ReceiptHandle=message["ReceiptHandle"])
            if all(terminal.values()):
                if drained_once_more:  # one more long poll: a duplicate terminal event would show here
                    return terminal
                drained_once_more = True
        return terminal

    def check(self, terminal: dict[str, list[dict[str, Any]]]) -> list[str]:
        """What went wrong, one sentence each (empty: every job succeeded once, with its result)."""
        assert self.outputs
        problems = []
        s3 = self.client("s3")
        for job, found in sorted(terminal.items()):
            kinds = [e["detail-type"] for e in found]
            if kinds != [job_events.SUCCEEDED]:
                detail = found[0]["detail"].get("error") if found else None
                problems.append(f"{job}: terminal events {kinds or 'none'} (error: {detail})")
                continue
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
        assert self.outputs
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
        for group in self.resources.get("AWS::Logs::LogGroup", []):
            for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, filterPattern='"REPORT RequestId"'
            ):
                reports += [r for e in page["events"] if (r := parse_report(e["message"]))]
        return replace(self.usage, transitions=transitions).add_reports(reports)

    # -- teardown -------------------------------------------------------------------------------

    def destroy(self) -> list[str]:
        """Remove the stack and what it retains; returns what could not be removed."""
        leftovers = []
        if self.capture:
            rule, queue_url = self.capture
            events = self.client("events")
            assert self.outputs
            events.remove_targets(Rule=rule, EventBusName=self.outputs.bus, Ids=["queue"])
            events.delete_rule(Name=rule, EventBusName=self.outputs.bus)
            self.client("sqs").delete_queue(QueueUrl=queue_url)
        self.resources = self.resources or self.stack_resources_if_any()
        try:
            self.cdk("destroy", "--force")
        except SmokeError as failure:
            return [str(failure)]  # the retained data stays while the stack does
        s3 = self.session.resource("s3")
        for bucket in self.resources.get("AWS::S3::Bucket", []):
            try:
                s3.Bucket(bucket).object_versions.delete()
                s3.Bucket(bucket).delete()
            except ClientError as error:
                leftovers.append(f"bucket {bucket} ({error.response['Error']['Code']})")
        for table in self.resources.get("AWS::DynamoDB::GlobalTable", []):
            self.client("dynamodb").delete_table(TableName=table)
        for secret in self.resources.get("AWS::SecretsManager::Secret", []):
            self.client("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
        return leftovers

    def stack_resources_if_any(self) -> dict[str, list[str]]:
        try:
            return self.stack_resources()
        except ClientError:
            return {}  # the deployment never created the stack


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
    with tempfile.TemporaryDirectory(prefix="lipsync-smoke-") as work:
        smoke = Smoke(
            session, time.strftime("%m%d%H%M") + uuid.uuid4().hex[:4], args.source_secret, Path(work)
        )
        print(
            f"smoke run {smoke.run_id}: stack {smoke.stack_name} in {account}/{session.region_name}",
            flush=True,
        )
        problems: list[str] = []
        try:
            smoke.deploy()
            smoke.copy_volcengine_key()
            smoke.capture_events()
            smoke.start_jobs()
            problems = smoke.check(smoke.wait_for_terminal_events(args.timeout))
            print(describe(smoke.measure()), flush=True)
        except (SmokeError, ClientError, requests.RequestException) as failure:
            problems = [str(failure)]
        finally:
            if args.keep:
                print(f"kept: remove it with `{CDK} destroy {smoke.stack_name}` and its retained data")
            else:
                problems += [f"left behind: {leftover}" for leftover in smoke.destroy()]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
