"""Per-job webhooks: every terminal job event goes to ``webhook``, which POSTs it, signed with the
generated secret, to the job's webhook URL if it asked for one; Lambda retries a failed delivery
twice (with backoff), then keeps it in a queue."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .function_factory import secret_value
from .resources import DeliveryProps
from .rules import job_ended_rule


class Webhooks(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DeliveryProps) -> None:
        super().__init__(scope, construct_id)
        # The signing key: 32 letters and digits, which is also valid base64 (Standard Webhooks' form).
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="The key that signs job webhooks (Standard Webhooks: prefix whsec_ elsewhere)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, include_space=False, password_length=32
            ),
            removal_policy=cdk.RemovalPolicy.RETAIN,  # receivers hold this key: never replaced by accident
        )
        self.function = props.factory.build(
            self, "webhook", timeout=30, environment={"WEBHOOK_SECRET_ID": self.secret.secret_arn}
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[props.table.table_arn])
        )
        self.function.add_to_role_policy(secret_value(self.secret))
        # Deliveries that still fail are kept with the pipeline's other failed deliveries (one alarm):
        # the rule's target gives the function its on-failure destination.
        self.rule = job_ended_rule(
            self,
            "JobEnded",
            self.function,
            props,
            description="A job ended: POST it to the job's webhook, if it has one",
        )
