"""The signing layer (our code and requests, bundled without Docker) and the AWS-managed
Powertools layer (Powertools, pydantic, the X-Ray SDK) that every function uses."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .layer_bundling import LAYER_ROOT, bundling_options

POWERTOOLS_VERSION = "3.37.0"  # keep in step with requirements/runtime.txt
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest this CDK version knows
ARCHITECTURE = lambda_.Architecture.X86_64


class SigningLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(LAYER_ROOT), bundling=bundling_options("x86_64")),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="lipsync_core: Volcengine V4 signer, client, job models and logic",
        )
        # Powertools publishes its layer ARNs as public SSM parameters, one per version.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"/aws/service/powertools/python/x86_64/python3.14/{POWERTOOLS_VERSION}"
        )
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_arn)
