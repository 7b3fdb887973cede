"""The layers every function uses: Powertools (with pydantic and the X-Ray SDK), either the AWS-managed
layer or our own build of it, and the signing layer (our code and requests), both bundled without
Docker for the one ``LambdaTarget``."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .lambda_target import SUPPORTED_PYTHONS, LambdaTarget
from .layer_bundling import build_powertools_layer, bundling_options
from .sources import BYTECODE, LAYER_ROOT, POWERTOOLS_ROOT


class SigningLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, target: LambdaTarget | None = None) -> None:
        super().__init__(scope, construct_id)
        self.target = target = target or LambdaTarget()
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(LAYER_ROOT), bundling=bundling_options(target), exclude=BYTECODE
            ),
            compatible_runtimes=[target.runtime],
            compatible_architectures=[target.cdk_architecture],
            description="lipsync_core: Volcengine V4 signer, client, job models and logic",
        )
        self.powertools: lambda_.ILayerVersion
        if target.powertools == "managed":
            arn = ssm.StringParameter.value_for_string_parameter(self, target.powertools_parameter)
            self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", arn)
        else:
            self.powertools = lambda_.LayerVersion(
                self,
                "PowertoolsLayer",
                code=lambda_.Code.from_asset(
                    str(POWERTOOLS_ROOT),
                    bundling=bundling_options(target, build_powertools_layer),
                    exclude=BYTECODE,
                ),
                compatible_runtimes=[target.runtime],
                compatible_architectures=[target.cdk_architecture],
                description=f"Powertools for AWS Lambda (Python) {target.powertools_version}, bundled",
            )

    @property
    def in_order(self) -> list[lambda_.ILayerVersion]:
        """Lambda extracts layers into /opt in this order, a later one overwriting an earlier one's
        files: the signing layer comes last, so its pinned requests and urllib3 (the versions its
        tests ran with) win any clash with what the Powertools layer carries."""
        return [self.powertools, self.layer]

    def with_extra(self, extra: list[lambda_.ILayerVersion]) -> list[lambda_.ILayerVersion]:
        """``in_order`` with a function's own layers (media) before ours, which stays last."""
        return [self.powertools, *extra, self.layer]

    def apply(self, function: lambda_.Function, extra: list[lambda_.ILayerVersion] | None = None) -> None:
        """What every function on these layers needs beyond its constructor's arguments."""
        # The layers in ``in_order``'s order: with ``recognizeLayerVersion`` on, CDK sorts a
        # function's layers by construct path, which would put Powertools last.
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        layers = self.with_extra(extra or [])
        cfn.add_property_override("Layers", [layer.layer_version_arn for layer in layers])
        if self.target.python_version != SUPPORTED_PYTHONS[-1]:
            reason = (
                f"{self.target.runtime_name} on purpose: the layers' bytecode is compiled by the runtime's "
                "own Python version, and that is the newest our build machines have (architecture.md)."
            )
            cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(id="AwsSolutions-L1", reason=reason))
