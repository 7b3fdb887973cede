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
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/inputs/*]": "The API presigns upload URLs for "
    "new objects under inputs/ only.",
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/jobs/*]": "Start reads manifests under jobs/ "
    "only.",
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/rejections/*]": "Start writes rejection reports "
    "under rejections/ only.",
    "AwsSolutions-IAM5[Resource::<StorageMedia9333CB25.Arn>/jobs/batches/*]": "POST /batches writes its "
    "batch manifest under jobs/batches/ only.",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
    "<WorkflowStateMachine8F1B1C15.Name>:*]": "The API stops executions of this state machine only (cancel).",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]": "Only CDK's own bucket-notifications custom resource uses it; our "
    "functions have explicit roles.",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs]": "API Gateway's account-level logging role, as AWS documents it.",
    "AwsSolutions-COG4": "The API uses IAM (SigV4) authorisation: callers are AWS principals, not app users.",
    "AwsSolutions-APIG3": "No WAF by default: IAM authorisation and stage throttling guard the API; attach a "
    "web ACL to the stage where the account has one.",
    "AwsSolutions-SQS3": "This queue is itself the failure destination for start's asynchronous deliveries.",
    "AwsSolutions-SMG4": "The secret holds Volcengine access keys, issued and rotated in Volcengine's "
    "console; the functions read it through a 5-minute cache, so a rotation is picked up without a deploy. "
    "The webhook key is shared with each receiver, so it changes only when its owner says so.",
}


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge_findings(scope: Construct) -> None:
    for rule, reason in ACCEPTED.items():
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
