"""The Volcengine credentials secret. Its value is put in by the operator after deployment."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .names import PipelineNames


class VolcCredentials(Construct):
    def __init__(self, scope: Construct, construct_id: str, names: PipelineNames) -> None:
        super().__init__(scope, construct_id)
        # Created with the right shape and a placeholder key id; `README.md` shows how to fill it.
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=names.secret,  # None: CloudFormation names it (a retained name blocks redeploys)
            description="Volcengine access key for the lip-sync API: "
            '{"access_key_id", "secret_access_key", "session_token"?}',
            removal_policy=cdk.RemovalPolicy.RETAIN,  # the operator's keys outlive a replaced stack
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"access_key_id": "REPLACE_ME"}),
                generate_string_key="secret_access_key",
                exclude_punctuation=True,
            ),
        )
