"""The synthesized template's roles as principals, and its resource policies: what the local runtime
enforces. Everything is read from the template (``AWS::IAM::Role`` and ``AWS::IAM::Policy``, their
intrinsics resolved by the local resolver), so a function, a role or a permission added to the stack is
judged here without a line of code for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..template import Template
from .policy import Policy

# The resource policies that principals acting locally meet: the buckets'. (The stack's other resource
# policies, on its alarm topic, key and failed-deliveries queue, admit AWS services whose deliveries moto
# makes internally, without a request to authorise.)
BUCKET_POLICY = "AWS::S3::BucketPolicy"


@dataclass(frozen=True)
class Role:
    arn: str
    name: str
    identity: tuple[Policy, ...]
    trust: Policy


@dataclass
class StackPolicies:
    roles: dict[str, Role] = field(default_factory=dict)  # by role ARN
    resource_policies: dict[str, list[Policy]] = field(default_factory=dict)  # by resource ARN prefix
    function_roles: dict[str, str] = field(default_factory=dict)  # function name -> role ARN
    state_machine_roles: list[str] = field(default_factory=list)


def stack_policies(template: Template) -> StackPolicies:
    policies = StackPolicies()
    attached: dict[str, list[Policy]] = {}
    for lid in template.of_type("AWS::IAM::Policy"):
        props = template.resources[lid]["Properties"]
        document = Policy.parse(template.resolve(props["PolicyDocument"]))
        for role in props.get("Roles", []):
            attached.setdefault(str(template.resolve(role)), []).append(document)
    for lid in template.of_type("AWS::IAM::Role"):
        props = template.resources[lid]["Properties"]
        physical = template.physical[lid]
        inline = [Policy.parse(template.resolve(p["PolicyDocument"])) for p in props.get("Policies", [])]
        policies.roles[physical.arn] = Role(
            arn=physical.arn,
            name=physical.name,
            identity=(*attached.get(physical.name, []), *inline),
            trust=Policy.parse(template.resolve(props["AssumeRolePolicyDocument"])),
        )
    for lid in template.of_type(BUCKET_POLICY):
        props = template.resources[lid]["Properties"]
        bucket = f"arn:aws:s3:::{template.resolve(props['Bucket'])}"
        policies.resource_policies.setdefault(bucket, []).append(
            Policy.parse(template.resolve(props["PolicyDocument"]))
        )
    for lid in template.of_type("AWS::Lambda::Function"):
        props = template.resources[lid]["Properties"]
        policies.function_roles[template.physical[lid].name] = str(template.resolve(props["Role"]))
    for lid in template.of_type("AWS::StepFunctions::StateMachine"):
        policies.state_machine_roles.append(
            str(template.resolve(template.resources[lid]["Properties"]["RoleArn"]))
        )
    return policies
