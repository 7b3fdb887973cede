"""cdk-nag (AwsSolutions) and the findings we accept, each acknowledged on the construct it is about
(and what lies under it), never on the whole stack, with a reason that names what it covers.

A pipeline acknowledges its own findings (``LipSyncPipeline`` calls ``acknowledge_findings``), so an
app that embeds it passes the same checks; the resources a finding names are written as cdk-nag
writes them (``<LogicalId.Arn>``), from the pipeline's own constructs, wherever it sits in the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import AwsSolutionsChecks
from constructs import Construct, IConstruct

Acknowledgements = dict[str, dict[str, str]]  # construct path (under the pipeline) -> {rule id: reason}

XRAY = (
    "The only '*' resource is X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords), which "
    "supports no narrower resource."
)
FUNCTION_VERSIONS = (
    "CDK's LambdaInvoke grants lambda:InvokeFunction on the workflow functions' own ARNs and their "
    "versions and aliases (<arn>:*); no other function."
)
API = "EntryPoints/Api"
OPTIONAL = {f"{API}/CloudWatchRole"}  # absent unless configured
# CDK's own bucket-notifications custom resource: one per stack, whichever pipelines use it.
NOTIFICATIONS_ROLE = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role"
NOTIFICATIONS_FINDINGS = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]": "CDK's own bucket-notifications custom resource (not our code) "
    "logs with this managed policy; our functions have explicit roles.",
}


def _iam5(resource: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{resource}]"


def flatten(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding (its ``flattenCfnReference``):
    ``{"Fn::GetAtt": ["Media1234", "Arn"]}`` is ``<Media1234.Arn>``, ``{"Ref": "AWS::Region"}`` is
    ``<AWS::Region>``, joins are joined."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return str(delimiter).join(flatten(item) for item in items)
    if "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"<{flatten(resource)}.{flatten(attribute)}>"
    if "Ref" in value:
        return f"<{flatten(value['Ref'])}>"
    raise ValueError(f"cannot name {value!r} as cdk-nag would")


def acknowledged(
    pipeline: Construct,
    *,
    bucket: s3.IBucket,
    state_machine: sfn.StateMachine,
    tasks: Sequence[lambda_.IFunction],
) -> Acknowledgements:
    """What a pipeline accepts, and why, named after its bucket, state machine and workflow tasks."""
    stack = cdk.Stack.of(pipeline)

    def named(token: str) -> str:
        return flatten(stack.resolve(token))

    media = named(bucket.bucket_arn)
    executions = (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f"{named(state_machine.state_machine_name)}:*"
    )
    return {
        **{f"Functions/{name}-role": {_iam5("*"): XRAY} for name in ("poll", "record_failure")},
        "Functions/dispatch-role": {
            _iam5("*"): "The '*' resource covers X-Ray tracing (xray:PutTraceSegments, "
            "xray:PutTelemetryRecords) and states:SendTaskSuccess: a task token of a callback task names "
            "no resource IAM can scope (the action's only resource type is an activity).",
        },
        "Functions/submit-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/outputs/*"): "Submit looks at the output key before paying (HeadObject is "
            "s3:GetObject) under the outputs/ prefix only.",
        },
        "Functions/copy_result-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/outputs/*"): "CopyResult writes result objects under the outputs/ prefix of "
            "the pipeline's bucket (put, multipart abort, read back); the wildcard is the key.",
        },
        "EntryFunctions/start-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/jobs/*"): "Start reads manifests under jobs/ in the pipeline's bucket only.",
            _iam5(f"{media}/rejections/*"): "Start writes rejection reports under rejections/ only.",
        },
        "EntryFunctions/api-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/jobs/batches/*"): "POST /batches writes its batch manifest under jobs/batches/ "
            "only.",
            _iam5(executions): "The API stops (cancels) executions of this pipeline's state machine only.",
        },
        "Reconciliation/reconcile-role": {
            _iam5("*"): XRAY,
            _iam5(executions): "The reconciler describes executions of this pipeline's state machine only "
            "(read-only).",
        },
        "Batches/batch_progress-role": {_iam5("*"): XRAY},
        "Webhooks/webhook-role": {_iam5("*"): XRAY},
        "Webhooks/Secret": {
            "AwsSolutions-SMG4": "The webhook signing key is shared with each receiver, so it changes only "
            "when its owner says so, not on a schedule.",
        },
        "Preparation/prepare-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/prepared/*"): "Prepare writes the converted copies of inputs under prepared/ "
            "only (put, multipart abort); the wildcard is the key.",
        },
        "Preparation/join_segments-role": {
            _iam5("*"): XRAY,
            _iam5(f"{media}/outputs/_segments/*"): "JoinSegments reads the segments' results under "
            "outputs/_segments/ and removes them once joined; the wildcard is the key.",
            _iam5(f"{media}/prepared/*"): "JoinSegments reads the voice Prepare cut the segments from, "
            "under prepared/ only (read-only).",
            _iam5(f"{media}/outputs/*"): "JoinSegments writes the job's result under the outputs/ prefix "
            "(put, multipart abort, read back), as CopyResult does; the wildcard is the key.",
        },
        "InputReader/Role": {
            _iam5(f"{media}/*"): "Input URLs are presigned for objects anywhere in the pipeline's own "
            "bucket (uploads and user layouts): s3:GetObject and s3:GetObjectVersion only, one bucket, "
            "and an explicit deny under the output prefix.",
            _iam5(f"{media}/outputs/*"): "The explicit deny of reads under the output prefix: another "
            "job's result is never an input.",
        },
        "UrlSigner/Role": {
            _iam5(f"{media}/outputs/*"): "The API presigns GET URLs for results under outputs/ only.",
            _iam5(f"{media}/inputs/*"): "The API presigns upload URLs for new objects under inputs/ only.",
        },
        "Workflow/StateMachine/Role": {
            _iam5("*"): "The state machine's '*' resource covers X-Ray tracing (xray:PutTraceSegments, "
            "PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs delivery "
            "(logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, "
            "ListLogDeliveries, DescribeLogGroups, DescribeResourcePolicies, PutResourcePolicy), which AWS "
            "documents with the resource '*' only.",
            **{_iam5(f"{named(task.function_arn)}:*"): FUNCTION_VERSIONS for task in tasks},
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
            "AwsSolutions-SMG4": "The secret holds Volcengine access keys, issued and rotated in "
            "Volcengine's console; the functions read it through a 5-minute cache, so a rotation needs no "
            "deploy.",
        },
    }


def add_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def find(scope: IConstruct, path: str) -> IConstruct | None:
    node: IConstruct | None = scope
    for part in path.split("/"):
        node = node.node.try_find_child(part) if node is not None else None
    return node


def acknowledge_findings(pipeline: Construct, acknowledgements: Acknowledgements) -> None:
    for path, rules in acknowledgements.items():
        construct = find(pipeline, path)
        if construct is None:
            if path in OPTIONAL:
                continue
            raise LookupError(f"cdk-nag acknowledgements name {path}, which the pipeline no longer has")
        _acknowledge(construct, rules)
    notifications = find(cdk.Stack.of(pipeline), NOTIFICATIONS_ROLE)
    if notifications is not None:  # made by the first bucket notification in the stack
        _acknowledge(notifications, NOTIFICATIONS_FINDINGS)


def _acknowledge(construct: IConstruct, rules: dict[str, str]) -> None:
    for rule, reason in rules.items():
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
