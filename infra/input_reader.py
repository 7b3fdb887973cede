"""The role whose sessions read inputs: Submit assumes it at each submission to sign input URLs, so it
knows how long the URLs it hands to the service can live (``lipsync_core.jobs.access.presigning``), and
Prepare to probe and convert them."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .resources import PipelineResources


@dataclass(frozen=True)
class InputReaderProps(PipelineResources):
    submit: lambda_.Function  # signs the URLs the service fetches
    prepare: lambda_.Function  # probes and converts inputs


class InputReader(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: InputReaderProps) -> None:
        super().__init__(scope, construct_id)
        readers = [props.submit, props.prepare]
        roles = [function.role for function in readers if function.role is not None]
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.CompositePrincipal(*(iam.ArnPrincipal(role.role_arn) for role in roles)),
            description="Reads job inputs: signs their GET URLs, probes them (read-only, the stack's bucket)",
        )
        # Inputs may be anywhere in the pipeline's bucket (uploads and user layouts); nothing is written.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[props.bucket.arn_for_objects("*")]
            )
        )
        for function, role in zip(readers, roles, strict=True):
            self.role.grant_assume_role(role)
            function.add_environment("INPUT_READER_ROLE_ARN", self.role.role_arn)
