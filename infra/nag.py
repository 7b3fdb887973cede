"""cdk-nag (AwsSolutions) and the findings we accept, each acknowledged on the construct it is about
(and what lies under it), never on the whole stack, with a reason that names what it covers."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

XRAY = (
    "The only '*' resource is X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which "
    "supports no narrower resource."
)
FUNCTION_VERSIONS = (
    "CDK's LambdaInvoke grants lambda:InvokeFunction on the workflow functions' own ARNs and their "
    "versions and aliases (<arn>:*); no other function."
)
MEDIA = "<StorageMedia9333CB25.Arn>"
API = "EntryPoints/Api"


def _iam5(resource: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{resource}]"


# Construct path (under the stack) -> {rule id: why it is accepted there}.
ACKNOWLEDGED: dict[str, dict[str, str]] = {
    **{f"Functions/{name}-role": {_iam5("*"): XRAY} for name in ("submit", "poll", "record_failure")},
    "Functions/copy_result-role": {
        _iam5("*"): XRAY,
        _iam5(f"{MEDIA}/outputs/*"): "CopyResult writes result objects under the outputs/ prefix of the "
        "stack's bucket (put, multipart abort, read back, delete a partial copy); the wildcard is the key.",
    },
    "EntryFunctions/start-role": {
        _iam5("*"): XRAY,
        _iam5(f"{MEDIA}/jobs/*"): "Start reads manifests under jobs/ in the stack's bucket only.",
        _iam5(f"{MEDIA}/rejections/*"): "Start writes rejection reports under rejections/ only.",
    },
    "EntryFunctions/api-role": {
        _iam5("*"): XRAY,
        _iam5(f"{MEDIA}/outputs/*"): "The API presigns GET URLs for results under outputs/ only.",
        _iam5(f"{MEDIA}/inputs/*"): "The API presigns upload URLs for new objects under inputs/ only.",
        _iam5(f"{MEDIA}/jobs/batches/*"): "POST /batches writes its batch manifest under jobs/batches/ only.",
        _iam5(
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            "<WorkflowStateMachine8F1B1C15.Name>:*"
        ): "The API stops (cancels) executions of this stack's state machine only.",
    },
    "Reconciliation/reconcile-role": {
        _iam5("*"): XRAY,
        _iam5(
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            "<WorkflowStateMachine8F1B1C15.Name>:*"
        ): "The reconciler describes executions of this stack's state machine only (read-only).",
    },
    "Batches/batch_progress-role": {_iam5("*"): XRAY},
    "Webhooks/webhook-role": {_iam5("*"): XRAY},
    "Webhooks/Secret": {
        "AwsSolutions-SMG4": "The webhook signing key is shared with each receiver, so it changes only when "
        "its owner says so, not on a schedule.",
    },
    "InputReader/Role": {
        _iam5(f"{MEDIA}/*"): "Input URLs are presigned for objects anywhere in the stack's own bucket "
        "(uploads and user layouts): s3:GetObject and s3:GetObjectVersion only, one bucket.",
    },
    "Workflow/StateMachine/Role": {
        _iam5("*"): "The state machine's '*' resource covers X-Ray tracing (xray:PutTraceSegments, "
        "PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery "
        "(logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, "
        "DescribeLogGroups, DescribeResourcePolicies, PutResourcePolicy), which AWS documents with the "
        "resource '*' only.",
        **{
            _iam5(f"<Functions{name}.Arn>:*"): FUNCTION_VERSIONS
            for name in ("submit062AA5AA", "poll96FDBC3A", "copyresult419CA2CB", "recordfailureF9B45126")
        },
    },
    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role": {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": "CDK's own bucket-notifications custom resource (not our code) "
        "logs with this managed policy; our functions have explicit roles.",
    },
    f"{API}/CloudWatchRole": {  # only with lipsync:api_cloud_watch_role
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]": "The opt-in account-level API Gateway logging role, "
        "with the managed policy AWS documents for it.",
    },
    API: {
        "AwsSolutions-COG4": "Every method of this API uses IAM (SigV4) authorisation: callers are AWS "
        "principals, not app users.",
    },
    f"{API}/DeploymentStage.v1": {
        "AwsSolutions-APIG3": "No WAF by default on this stage: IAM authorisation and stage throttling "
        "guard it; attach a web ACL where the account has one.",
    },
    "EntryFunctions/FailedDeliveries": {
        "AwsSolutions-SQS3": "This queue is itself the dead-letter queue: of start's asynchronous "
        "deliveries, of webhook deliveries, and of every rule's target (requests, status changes, the "
        "sweep, batch progress, webhooks).",
    },
    "Credentials/Secret": {
        "AwsSolutions-SMG4": "The secret holds Volcengine access keys, issued and rotated in Volcengine's "
        "console; the functions read it through a 5-minute cache, so a rotation needs no deploy.",
    },
}
OPTIONAL = {f"{API}/CloudWatchRole"}  # absent unless configured


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def find(stack: cdk.Stack, path: str) -> IConstruct | None:
    node: IConstruct | None = stack
    for part in path.split("/"):
        node = node.node.try_find_child(part) if node is not None else None
    return node


def acknowledge_findings(stack: cdk.Stack) -> None:
    for path, rules in ACKNOWLEDGED.items():
        construct = find(stack, path)
        if construct is None:
            if path in OPTIONAL:
                continue
            raise LookupError(f"cdk-nag acknowledgements name {path}, which the stack no longer has")
        for rule, reason in rules.items():
            cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
