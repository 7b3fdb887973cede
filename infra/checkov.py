"""checkov's findings on the stack (``tests/infra/test_stack.py`` runs checkov on the synthesized
template): each is acknowledged on the resource it is about, with its reason, as CloudFormation metadata
``checkov.skip`` (which checkov reads), so a finding on a new resource fails the test. What could be
fixed was; these are choices. An aspect, so CDK's own resources (the bucket-notification handler) are
covered where the stack applies it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct

Reasons = tuple[tuple[str, str], ...]

BY_TYPE: dict[str, Reasons] = {
    "AWS::Lambda::Function": (
        (
            "CKV_AWS_115",
            "No reserved concurrency per function: the stack's flow control bounds the work sent to the "
            "provider, and a reservation would take concurrency from the account's other functions.",
        ),
        (
            "CKV_AWS_116",
            "Functions invoked asynchronously have an on-failure destination (the failed-deliveries "
            "queue, infra/rules.py), which keeps more than a DLQ; the others are invoked synchronously "
            "and their callers (the state machine, API Gateway) see the error.",
        ),
        (
            "CKV_AWS_117",
            "Outside a VPC: the functions reach only AWS APIs and the provider's public endpoint; a VPC "
            "would need NAT gateways (a fixed monthly cost) and protects no private resource here.",
        ),
        (
            "CKV_AWS_173",
            "Environment variables hold resource names and ARNs only, never secrets (those are read "
            "from Secrets Manager); Lambda encrypts them at rest with its own key.",
        ),
    ),
    "AWS::Logs::LogGroup": (
        (
            "CKV_AWS_158",
            "Encrypted at rest by CloudWatch Logs' own keys; the logs hold sanitised messages and ids, "
            "never secrets or presigned URLs, so a customer key ($1 a month) would protect nothing more.",
        ),
    ),
    "AWS::SecretsManager::Secret": (
        (
            "CKV_AWS_149",
            "Encrypted with the AWS-managed aws/secretsmanager key; only this stack's roles may read the "
            "secret, and a customer key would only add a key policy to keep in step.",
        ),
    ),
    "AWS::ApiGateway::Stage": (
        (
            "CKV_AWS_120",
            "No cache: a job's status must be current (a cached GET /jobs/{id} would hide its end), and "
            "a cache is billed by the hour.",
        ),
    ),
    "AWS::SQS::Queue": (
        (
            "CKV_AWS_27",
            "Encrypted with SQS-managed keys (SqsManagedSseEnabled); this check knows only KMS keys.",
        ),
    ),
}
# By the construct path's last parts (what the resource is for, wherever the pipeline sits).
BY_PURPOSE: dict[str, Reasons] = {
    "/Storage/AccessLogs/Resource": (
        ("CKV_AWS_18", "This is the access-log bucket: logging its own access would log forever."),
        ("CKV_AWS_21", "Access logs are written once and expire by lifecycle: versions would keep nothing."),
    ),
    "/Storage/FlowControl/Resource": (
        (
            "CKV_AWS_165",
            "The flow-control table holds transient slots and rate tokens that the reconciler rebuilds; "
            "point-in-time recovery is on for the job table, which holds the records.",
        ),
    ),
}


@jsii.implements(cdk.IAspect)
class CheckovAcknowledgements:
    """Adds each resource's acknowledgements once (applied by a pipeline and by its stack)."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnResource) or node.get_metadata("checkov") is not None:
            return
        reasons = BY_TYPE.get(node.cfn_resource_type, ()) + next(
            (r for suffix, r in BY_PURPOSE.items() if node.node.path.endswith(suffix)), ()
        )
        if reasons:
            skip: list[dict[str, Any]] = [{"id": check, "comment": why} for check, why in reasons]
            node.add_metadata("checkov", {"skip": skip})
