"""cdk-nag (AwsSolutions) and the findings we accept, each with its reason."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

# rule id -> why it does not apply or is accepted here.
ACCEPTED: dict[str, str] = {
    "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) only "
    "supports the resource '*'.",
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/*]": "Submit presigns GET URLs for input "
    "objects anywhere in the stack's own bucket (uploads and user layouts); read-only, one bucket.",
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/outputs/*]": "CopyResult writes result "
    "objects under the outputs/ prefix of the stack's bucket; the wildcard is the object key.",
    "AwsSolutions-IAM5[Resource::<Functionssubmit062AA5AA.Arn>:*]": "CDK's LambdaInvoke grants invoke on "
    "the function's versions and aliases.",
    "AwsSolutions-IAM5[Resource::<Functionspoll96FDBC3A.Arn>:*]": "As above, for Poll.",
    "AwsSolutions-IAM5[Resource::<Functionscopyresult419CA2CB.Arn>:*]": "As above, for CopyResult.",
    "AwsSolutions-IAM5[Resource::<FunctionsrecordfailureF9B45126.Arn>:*]": "As above, for RecordFailure.",
    "AwsSolutions-SMG4": "The secret holds Volcengine access keys, issued and rotated in Volcengine's "
    "console; the functions read it through a 5-minute cache, so a rotation is picked up without a deploy.",
}


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge_findings(scope: Construct) -> None:
    for rule, reason in ACCEPTED.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
