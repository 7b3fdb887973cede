"""Reads the synthesized CloudFormation template and resolves its tokens to local names and ARNs.

Only the intrinsic functions the stack uses are supported (``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``); anything else fails loudly rather than resolving to nonsense.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
TABLE = "AWS::DynamoDB::GlobalTable"  # what CDK's TableV2 makes
PSEUDO = {
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "LipSync",
    "AWS::NoValue": None,
}


class UnsupportedTemplateError(Exception):
    pass


@dataclass(frozen=True)
class PhysicalResource:
    logical_id: str
    type: str
    name: str  # what Ref returns for most types
    arn: str


def _local_name(stack: str, logical_id: str, kind: str) -> str:
    base = re.sub(r"[A-F0-9]{8}$", "", logical_id)  # drop CDK's hash suffix
    name = f"{stack}-{base}"
    return name.lower()[:63] if kind == "AWS::S3::Bucket" else name[:64]


def physical_resource(stack: str, logical_id: str, resource: dict[str, Any]) -> PhysicalResource:
    kind = resource["Type"]
    props = resource.get("Properties", {})
    name = _local_name(stack, logical_id, kind)
    if kind == "AWS::S3::Bucket":
        return PhysicalResource(logical_id, kind, name, f"arn:aws:s3:::{name}")
    if kind in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
        return PhysicalResource(
            logical_id, kind, name, f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        )
    if kind == "AWS::SecretsManager::Secret":
        secret_name = props.get("Name", name)
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{secret_name}-local0"
        return PhysicalResource(logical_id, kind, arn, arn)  # Ref of a secret is its ARN
    if kind == "AWS::Events::EventBus":
        bus = props.get("Name", name)
        return PhysicalResource(
            logical_id, kind, bus, f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}"
        )
    if kind == "AWS::Lambda::Function":
        return PhysicalResource(
            logical_id, kind, name, f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        )
    if kind == "AWS::StepFunctions::StateMachine":
        arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
        return PhysicalResource(logical_id, kind, arn, arn)
    if kind == "AWS::SQS::Queue":
        queue = props.get("QueueName", name)
        return PhysicalResource(logical_id, kind, queue, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}")
    if kind == "AWS::IAM::Role":
        return PhysicalResource(logical_id, kind, name, f"arn:aws:iam::{ACCOUNT_ID}:role/{name}")
    if kind == "AWS::Logs::LogGroup":
        return PhysicalResource(
            logical_id, kind, name, f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"
        )
    return PhysicalResource(logical_id, kind, name, f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{logical_id}")


class Template:
    def __init__(self, path: Path, stack: str = "lipsync") -> None:
        self.path = path
        self.body: dict[str, Any] = json.loads(path.read_text())
        self.resources: dict[str, dict[str, Any]] = self.body["Resources"]
        self.physical = {lid: physical_resource(stack, lid, r) for lid, r in self.resources.items()}

    def of_type(self, kind: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r["Type"] == kind]

    def cdk_path(self, logical_id: str) -> str:
        return str(self.resources[logical_id].get("Metadata", {}).get("aws:cdk:path", ""))

    def table(self, construct: str) -> str:
        """The logical id of the DynamoDB table made by the construct ``construct`` (``Jobs``, say)."""
        [table] = [t for t in self.of_type(TABLE) if f"/{construct}/" in self.cdk_path(t)]
        return table

    def table_definition(self, logical_id: str) -> dict[str, Any]:
        """DynamoDB's ``CreateTable`` arguments for the table (all but its name): its keys, attributes,
        global secondary indexes and stream, billed per request."""
        props = self.resources[logical_id]["Properties"]
        indexes = [
            {
                "IndexName": gsi["IndexName"],
                "KeySchema": gsi["KeySchema"],
                "Projection": gsi.get("Projection", {"ProjectionType": "ALL"}),
            }
            for gsi in props.get("GlobalSecondaryIndexes", [])
        ]
        stream = props.get("StreamSpecification")
        return {
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            **({"StreamSpecification": {"StreamEnabled": True, **stream}} if stream else {}),
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                target, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(target, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in parts)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key.startswith("Fn::"):
                raise UnsupportedTemplateError(f"{key} is not supported by the local runtime")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.physical:
            return self.physical[name].name
        parameters = self.body.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default", f"local-{name}")
        raise UnsupportedTemplateError(f"Ref to unknown {name!r}")

    def _get_att(self, target: str, attribute: str) -> str:
        resource = self.physical.get(target)
        if resource is None:
            raise UnsupportedTemplateError(f"Fn::GetAtt on unknown {target!r}")
        if attribute in ("Arn", "StreamArn"):
            return resource.arn
        if attribute in ("Name", "TableName"):
            return (
                resource.arn.rsplit(":", 1)[-1]
                if resource.type == "AWS::StepFunctions::StateMachine"
                else resource.name
            )
        raise UnsupportedTemplateError(f"Fn::GetAtt {target}.{attribute} is not supported")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token:
                target, attribute = token.split(".", 1)
                return self._get_att(target, attribute)
            return str(self._ref(token))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)
