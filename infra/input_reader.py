"""The role whose sessions sign input URLs: Submit assumes it at each submission, so it knows how long
the URLs it hands to the service can live (``lipsync_core.jobs.access.presigning``)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .resources import PipelineResources


@dataclass(frozen=True)
class InputReaderProps(PipelineResources):
    submit: lambda_.Function  # the only function that assumes the role


class InputReader(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: InputReaderProps) -> None:
        super().__init__(scope, construct_id)
        submit = props.submit
        assert submit.role is not None
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ArnPrincipal(submit.role.role_arn),
            description="Signs the presigned GET URLs of job inputs (read-only, the stack's bucket)",
        )
        # Inputs may be anywhere in the pipeline's bucket (uploads and user layouts); nothing is written.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[props.bucket.arn_for_objects("*")]
            )
        )
        self.role.grant_assume_role(submit.role)
        submit.add_environment("INPUT_READER_ROLE_ARN", self.role.role_arn)
