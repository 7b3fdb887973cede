"""Roles whose sessions sign presigned S3 URLs. A presigned URL dies with the credentials that signed it,
and a function's own credentials carry no expiry it can read; a session of an assumed role says when it
ends, so the URL's lifetime can be told truthfully (``lipsync_core.jobs.access.presigning``).

- the input reader: Submit signs the GET URLs of a job's inputs, which the service fetches, and Prepare
  reads them to probe and convert them;
- the URL signer: the API signs upload (PUT under ``inputs/``) and result download (GET under the output
  prefix) URLs it hands to callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .resources import PipelineResources


@dataclass(frozen=True)
class SigningRoleProps(PipelineResources):
    users: tuple[lambda_.Function, ...]  # the only functions that assume the role
    environment_variable: str  # where the function finds the role's ARN
    description: str
    allow: tuple[iam.PolicyStatement, ...]
    deny: tuple[iam.PolicyStatement, ...] = ()


class SigningRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: SigningRoleProps) -> None:
        super().__init__(scope, construct_id)
        roles = [user.role for user in props.users if user.role is not None]
        assert len(roles) == len(props.users)
        principals = [iam.ArnPrincipal(role.role_arn) for role in roles]
        self.role = iam.Role(
            self, "Role", assumed_by=iam.CompositePrincipal(*principals), description=props.description
        )
        for statement in (*props.allow, *props.deny):
            self.role.add_to_policy(statement)
        for user, role in zip(props.users, roles, strict=True):
            self.role.grant_assume_role(role)
            user.add_environment(props.environment_variable, self.role.role_arn)


def input_reader(
    props: PipelineResources, submit: lambda_.Function, prepare: lambda_.Function
) -> SigningRoleProps:
    """Inputs may be anywhere in the pipeline's bucket (uploads and user layouts) except under the output
    prefix: another job's result is never an input (intake refuses it too). Nothing is written."""
    bucket, outputs = props.bucket, f"{props.config.output_prefix}*"
    return SigningRoleProps(
        **props.shared(),
        users=(submit, prepare),
        environment_variable="INPUT_READER_ROLE_ARN",
        description="Reads job inputs: signs their GET URLs, probes them (read-only, the stack's bucket)",
        allow=(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("*")]
            ),
        ),
        deny=(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects(outputs)],
            ),
        ),
    )


def url_signer(props: PipelineResources, api: lambda_.Function) -> SigningRoleProps:
    bucket = props.bucket
    return SigningRoleProps(
        **props.shared(),
        users=(api,),
        environment_variable="URL_SIGNER_ROLE_ARN",
        description="Signs the API's upload URLs (inputs/) and result download URLs (outputs)",
        allow=(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("inputs/*")]),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{props.config.output_prefix}*")],
            ),
        ),
    )
