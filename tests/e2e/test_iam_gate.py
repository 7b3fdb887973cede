"""The local moto server's IAM gate, over real HTTP with boto3: each call is authorised with the IAM
action AWS uses for it (not always the operation's name), on the resource ARN the call names, against
the caller's identity policies and the resource's policy; a denied call answers as AWS does, so the
client raises what it would raise on AWS."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from lipsync.local.iam.gate import IamGate
from lipsync.local.iam.policy import Policy
from lipsync.local.iam.principals import Role, StackPolicies
from lipsync.local.moto_server import quick_stop_moto_server

pytestmark = pytest.mark.xdist_group("e2e")  # moto's backends are process-wide

ACCOUNT = "123456789012"
WORKER = f"arn:aws:iam::{ACCOUNT}:role/worker"
READER = f"arn:aws:iam::{ACCOUNT}:role/reader"
BUCKET = "media"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/jobs"
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:jobs"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str], resources: list[str], **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **more}


WORKER_POLICY = policy(
    allow(["s3:GetObject"], [f"arn:aws:s3:::{BUCKET}/inputs/*"]),
    allow(["s3:PutObject", "s3:AbortMultipartUpload"], [f"arn:aws:s3:::{BUCKET}/outputs/*"]),
    {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/outputs/private/*"},
    allow(["dynamodb:GetItem"], [TABLE_ARN]),
    allow(["sts:AssumeRole"], [READER, WORKER]),
)
# As the stack's bucket policy: TLS only (the local endpoint stands for AWS's TLS one), and a grant to
# the worker role of what its identity policy does not give (same account: either one allows).
BUCKET_POLICY = policy(
    {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    {
        "Effect": "Allow",
        "Principal": {"AWS": WORKER},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/shared/*",
    },
)


def trusting(principal: str) -> Policy:
    return policy({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


LAMBDA_TRUST = policy(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    gate = IamGate()
    server = quick_stop_moto_server("127.0.0.1", 0, (gate.wrap,))
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def client(service: str, key: str = "operator") -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key="secret",
        )

    operator_s3 = client("s3")
    operator_s3.create_bucket(Bucket=BUCKET)
    for key in ("inputs/face.mp4", "shared/voice.wav", "outputs/private/x.mp4", "other/y.mp4"):
        operator_s3.put_object(Bucket=BUCKET, Key=key, Body=b"media")
    client("dynamodb").create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client("iam").create_role(RoleName="reader", AssumeRolePolicyDocument="{}")
    client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument="{}")
    gate.enforce(
        StackPolicies(
            roles={
                WORKER: Role(WORKER, "worker", (WORKER_POLICY,), LAMBDA_TRUST),
                READER: Role(READER, "reader", (), trusting(WORKER)),
            },
            resource_policies={f"arn:aws:s3:::{BUCKET}": [BUCKET_POLICY]},
        ),
        str,
    )
    gate.register("AKIDWORKER", WORKER, "test")
    gate.register("AKIDREADER", READER, "test")
    yield {"gate": gate, "client": client}
    server.stop()


def refusal(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], str(caught.value)


def test_s3_actions_are_iams_not_the_operations(aws: dict[str, Any]) -> None:
    s3 = aws["client"]("s3", "AKIDWORKER")
    # HeadObject and GetObject are s3:GetObject, allowed under inputs/
    assert s3.head_object(Bucket=BUCKET, Key="inputs/face.mp4")["ContentLength"] == 5
    assert s3.get_object(Bucket=BUCKET, Key="inputs/face.mp4")["Body"].read() == b"media"
    # a version is s3:GetObjectVersion, which the worker does not have
    code, status, message = refusal(
        lambda: s3.get_object(Bucket=BUCKET, Key="inputs/face.mp4", VersionId="null")
    )
    assert (code, status) == ("AccessDenied", 403)
    assert "is not authorized to perform: s3:GetObjectVersion" in message
    # ListObjectsV2 is s3:ListBucket on the bucket
    code, status, message = refusal(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="inputs/"))
    assert (code, status) == ("AccessDenied", 403)
    assert f"s3:ListBucket on resource: arn:aws:s3:::{BUCKET}" in message
    # the multipart calls are s3:PutObject: allowed under outputs/
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="outputs/r.mp4")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="outputs/r.mp4", UploadId=upload, PartNumber=1, Body=b"r")
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="outputs/r.mp4",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    # and nowhere else
    code, status, message = refusal(lambda: s3.upload_fileobj(io.BytesIO(b"x"), BUCKET, "inputs/new.mp4"))
    assert "AccessDenied" in message
    assert "s3:PutObject on resource: arn:aws:s3:::media/inputs/new.mp4" in message


def test_a_missing_key_is_a_403_without_list_bucket_as_on_aws(aws: dict[str, Any]) -> None:
    s3 = aws["client"]("s3", "AKIDWORKER")
    _, status, _ = refusal(lambda: s3.head_object(Bucket=BUCKET, Key="inputs/missing.mp4"))
    assert status == 403, "S3 tells a missing key (404) only to a caller who may list the bucket"
    operator = aws["client"]("s3")  # who may list it, and so is told
    _, status, _ = refusal(lambda: operator.head_object(Bucket=BUCKET, Key="inputs/missing.mp4"))
    assert status == 404


def test_an_explicit_deny_wins_and_a_bucket_policy_can_allow(aws: dict[str, Any]) -> None:
    s3 = aws["client"]("s3", "AKIDWORKER")
    code, _, message = refusal(lambda: s3.put_object(Bucket=BUCKET, Key="outputs/private/x.mp4", Body=b"x"))
    assert code == "AccessDenied"
    assert "explicit deny in an identity-based policy" in message
    # shared/ is granted by the bucket policy only; its TLS-only Deny does not apply (TLS stands)
    assert s3.get_object(Bucket=BUCKET, Key="shared/voice.wav")["Body"].read() == b"media"
    code, _, _ = refusal(lambda: s3.get_object(Bucket=BUCKET, Key="other/y.mp4"))
    assert code == "AccessDenied"


def test_json_services_answer_access_denied_exception(aws: dict[str, Any]) -> None:
    dynamodb = aws["client"]("dynamodb", "AKIDWORKER")
    assert "Item" not in dynamodb.get_item(TableName="jobs", Key={"id": {"S": "a"}})
    code, status, message = refusal(lambda: dynamodb.put_item(TableName="jobs", Item={"id": {"S": "a"}}))
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"dynamodb:PutItem on resource: {TABLE_ARN}" in message
    code, status, message = refusal(
        lambda: aws["client"]("stepfunctions", "AKIDWORKER").start_execution(
            stateMachineArn=MACHINE, name="x", input="{}"
        )
    )
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"states:StartExecution on resource: {MACHINE}" in message
    code, status, _ = refusal(
        lambda: aws["client"]("lambda", "AKIDWORKER").invoke(FunctionName="submit", Payload=b"{}")
    )
    assert (code, status) == ("AccessDeniedException", 403)


def test_assuming_a_role_needs_both_the_permission_and_the_roles_trust(aws: dict[str, Any]) -> None:
    sts = aws["client"]("sts", "AKIDWORKER")
    session = sts.assume_role(RoleArn=READER, RoleSessionName="inputs")["Credentials"]
    # the session acts as the reader role from then on: the reader may not even read inputs/
    s3 = aws["client"]("s3", session["AccessKeyId"])
    code, status, message = refusal(lambda: s3.get_object(Bucket=BUCKET, Key="inputs/face.mp4"))
    assert (code, status) == ("AccessDenied", 403)
    assert "assumed-role/reader/assumed" in message
    # the worker may assume itself by its policy, but its trust policy trusts only Lambda
    code, status, message = refusal(lambda: sts.assume_role(RoleArn=WORKER, RoleSessionName="again"))
    assert (code, status) == ("AccessDenied", 403)
    assert "its trust policy does not allow" in message
    denials = [d for d in aws["gate"].denials if d.action == "sts:AssumeRole"]
    assert denials, "the gate records every denial"
