"""The stack `make smoke` deploys: its own name, bus and secret (so it can sit beside a production
stack), deployed and destroyed through the pinned CDK CLI, with the data it retains on purpose."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from tools.smoke_costs import StackOutputs, parse_outputs

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
RETAINED = ("AWS::S3::Bucket", "AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret")


class SmokeError(Exception):
    """The run cannot go on, or a check failed: one sentence for stderr."""


@dataclass
class SmokeStack:
    session: boto3.Session
    run_id: str
    work: Path
    outputs: StackOutputs | None = None
    resources: dict[str, list[str]] = field(default_factory=dict)  # retained ones and log groups

    @property
    def name(self) -> str:
        return f"LipSyncSmoke{self.run_id}"

    @cached_property
    def context(self) -> dict[str, str]:
        values = {
            "lipsync:stack_name": self.name,
            "lipsync:event_bus_name": f"lipsync-smoke-{self.run_id}",
            "lipsync:secret_name": f"lipsync-smoke/{self.run_id}",
        }
        # The stage logs need an account-level API Gateway role: create one only where none is set.
        if not self.client("apigateway").get_account().get("cloudwatchRoleArn"):
            values["lipsync:api_cloud_watch_role"] = "true"
        return values

    def client(self, name: str) -> Any:
        return self.session.client(name)

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
        self.outputs = parse_outputs(outputs_file.read_text(), self.name)
        self.resources = self.stack_resources()
        return self.outputs

    def cdk(self, *arguments: str) -> None:
        command = [str(CDK), *arguments, self.name]
        for key, value in self.context.items():
            command += ["-c", f"{key}={value}"]
        print("$", " ".join(command), flush=True)
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603 - our CDK CLI
            raise SmokeError(f"cdk {arguments[0]} of {self.name} failed (its output is above)")

    def stack_resources(self) -> dict[str, list[str]]:
        """The resources the stack retains on purpose (removed after the run) and its log groups."""
        found: dict[str, list[str]] = {}
        pages = self.client("cloudformation").get_paginator("list_stack_resources")
        for page in pages.paginate(StackName=self.name):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] in (*RETAINED, "AWS::Logs::LogGroup"):
                    found.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
        return found

    def destroy(self) -> list[str]:
        """Remove the stack and what it retains; returns what could not be removed."""
        if not self.resources:
            with contextlib.suppress(ClientError):  # the deployment never created the stack
                self.resources = self.stack_resources()
        try:
            self.cdk("destroy", "--force")
        except SmokeError as failure:
            return [str(failure)]  # the retained data stays while the stack does
        leftovers = []
        s3 = self.session.resource("s3")
        for bucket in self.resources.get("AWS::S3::Bucket", []):
            try:
                s3.Bucket(bucket).object_versions.delete()
                s3.Bucket(bucket).delete()
            except ClientError as error:  # e.g. server access logs still arriving
                leftovers.append(f"bucket {bucket} ({error.response['Error']['Code']})")
        for table in self.resources.get("AWS::DynamoDB::GlobalTable", []):
            self.client("dynamodb").delete_table(TableName=table)
        for secret in self.resources.get("AWS::SecretsManager::Secret", []):
            self.client("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
        return leftovers
