"""What an AWS request asks IAM for: the caller's access key, and the actions with the resource ARNs
and condition keys IAM authorises, read from the raw HTTP request the local moto server receives.

The IAM action is not always the API operation (HeadObject is ``s3:GetObject``, the multipart calls are
``s3:PutObject``, ListObjectsV2 is ``s3:ListBucket``, a GetObject of a version is ``s3:GetObjectVersion``,
CopyObject needs ``s3:GetObject`` on its source too): these follow the Service Authorization Reference.
An operation not listed here is authorised as ``<service>:<Operation>`` on ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..template import ACCOUNT_ID, REGION
from .policy import AuthRequest

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_LAMBDA_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# The local endpoint stands for AWS's TLS endpoints: the stack's "deny insecure transport" holds.
BASE_CONTEXT = {"aws:SecureTransport": "true"}


@dataclass(frozen=True)
class AwsRequest:
    access_key: str
    service: str
    operation: str
    authorisations: tuple[AuthRequest, ...]
    protocol: str  # "rest-xml" (S3), "json", "rest-json" (Lambda) or "query" (STS): how a denial looks


@dataclass(frozen=True)
class Incoming:
    """The parts of an HTTP request the decision needs (from a WSGI environ and its body)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @classmethod
    def from_environ(cls, environ: dict[str, Any], body: bytes) -> Incoming:
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=str(environ.get("PATH_INFO", "/")),
            query=parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True),
            headers=headers,
            body=body,
        )

    def first(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def read(incoming: Incoming, secret_arn: Callable[[str], str]) -> AwsRequest | None:
    """The request's authorisations; None for an unsigned request (moto's own admin API)."""
    signature = incoming.headers.get("authorization", "") or " ".join(
        incoming.query.get("X-Amz-Credential", [])
    )
    match = _CREDENTIAL.search(signature) or _CREDENTIAL.search("Credential=" + signature)
    if match is None:
        return None
    access_key, _, service = match.groups()
    if service == "s3":
        return _s3(access_key, incoming)
    if service == "lambda":
        return _lambda(access_key, incoming)
    if service == "sts":
        return _sts(access_key, incoming)
    target = incoming.headers.get("x-amz-target", "")
    operation = target.rsplit(".", 1)[-1] if target else ""
    body = _json(incoming.body)
    resources = _json_resources(service, operation, body, secret_arn)
    action = f"{_IAM_PREFIX.get(service, service)}:{operation}"
    context = {**BASE_CONTEXT}
    return AwsRequest(access_key, service, operation, (AuthRequest(action, resources, context),), "json")


_IAM_PREFIX = {"stepfunctions": "states", "monitoring": "cloudwatch"}


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _json_resources(
    service: str, operation: str, body: dict[str, Any], secret_arn: Callable[[str], str]
) -> tuple[str, ...]:
    if service == "dynamodb":
        if "RequestItems" in body:
            return tuple(_arn("dynamodb", f"table/{name}") for name in body["RequestItems"])
        if "TableName" in body:
            table = _arn("dynamodb", f"table/{body['TableName']}")
            return (f"{table}/index/{body['IndexName']}" if body.get("IndexName") else table,)
    if service == "stepfunctions":
        for key in ("executionArn", "stateMachineArn"):
            if key in body:
                return (str(body[key]),)
    if service == "events" and operation == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in body.get("Entries", [])}
        return tuple(b if b.startswith("arn:") else _arn("events", f"event-bus/{b}") for b in sorted(buses))
    if service == "secretsmanager" and "SecretId" in body:
        return (secret_arn(str(body["SecretId"])),)
    if service == "sqs":
        if "QueueUrl" in body:
            return (_arn("sqs", urlsplit(str(body["QueueUrl"])).path.rstrip("/").rsplit("/", 1)[-1]),)
        if "QueueName" in body:
            return (_arn("sqs", str(body["QueueName"])),)
    return ("*",)


def _lambda(access_key: str, incoming: Incoming) -> AwsRequest:
    match = _LAMBDA_INVOKE.match(incoming.path)
    if match is None:
        return AwsRequest(
            access_key, "lambda", "Other", (AuthRequest("lambda:*", ("*",), BASE_CONTEXT),), "rest-json"
        )
    name = unquote(match.group(1))
    arn = name if name.startswith("arn:") else _arn("lambda", f"function:{name}")
    qualifier = incoming.first("Qualifier")
    if qualifier:
        arn = f"{arn}:{qualifier}"
    return AwsRequest(
        access_key,
        "lambda",
        "Invoke",
        (AuthRequest("lambda:InvokeFunction", (arn,), BASE_CONTEXT),),
        "rest-json",
    )


def _sts(access_key: str, incoming: Incoming) -> AwsRequest:
    form = {**incoming.query, **parse_qs(incoming.body.decode("utf-8", "replace"), keep_blank_values=True)}
    operation = (form.get("Action") or [""])[0]
    if operation == "AssumeRole":
        role = (form.get("RoleArn") or ["*"])[0]
        authorisations: tuple[AuthRequest, ...] = (AuthRequest("sts:AssumeRole", (role,), BASE_CONTEXT),)
    else:  # GetCallerIdentity needs no permission
        authorisations = ()
    return AwsRequest(access_key, "sts", operation, authorisations, "query")


def _s3(access_key: str, incoming: Incoming) -> AwsRequest:
    bucket, _, key = incoming.path.lstrip("/").partition("/")
    method, has = incoming.method, incoming.query.__contains__
    bucket_arn = f"arn:aws:s3:::{bucket}"
    object_arn = f"{bucket_arn}/{key}"
    context: dict[str, str | list[str]] = {**BASE_CONTEXT}
    if not key:
        if method in ("GET", "HEAD") and not (
            set(incoming.query)
            - {
                "list-type",
                "prefix",
                "delimiter",
                "continuation-token",
                "max-keys",
                "start-after",
                "encoding-type",
                "fetch-owner",
                "marker",
            }
        ):
            if incoming.first("prefix") is not None:
                context["s3:prefix"] = incoming.first("prefix") or ""
            name = "ListObjectsV2" if method == "GET" else "HeadBucket"
            return _s3_request(access_key, name, "s3:ListBucket", (bucket_arn,), context)
        if method == "GET" and has("uploads"):
            return _s3_request(
                access_key, "ListMultipartUploads", "s3:ListBucketMultipartUploads", (bucket_arn,), context
            )
        operation = f"{method.title()}Bucket" + "".join(sorted(k.title() for k in incoming.query))
        return _s3_request(access_key, operation, f"s3:{operation}", (bucket_arn,), context)
    version = incoming.first("versionId")
    if method in ("GET", "HEAD"):
        if has("uploadId"):
            return _s3_request(access_key, "ListParts", "s3:ListMultipartUploadParts", (object_arn,), context)
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        return _s3_request(
            access_key, "GetObject" if method == "GET" else "HeadObject", action, (object_arn,), context
        )
    if method == "PUT":
        source = incoming.headers.get("x-amz-copy-source")
        if source and not has("partNumber"):
            source_arn = "arn:aws:s3:::" + unquote(source.split("?", 1)[0]).lstrip("/")
            return AwsRequest(
                access_key,
                "s3",
                "CopyObject",
                (
                    AuthRequest("s3:PutObject", (object_arn,), context),
                    AuthRequest("s3:GetObject", (source_arn,), context),
                ),
                "rest-xml",
            )
        name = "UploadPart" if has("partNumber") else "PutObject"
        return _s3_request(access_key, name, "s3:PutObject", (object_arn,), context)
    if method == "POST":
        name = "CreateMultipartUpload" if has("uploads") else "CompleteMultipartUpload"
        return _s3_request(access_key, name, "s3:PutObject", (object_arn,), context)
    if method == "DELETE":
        if has("uploadId"):
            return _s3_request(
                access_key, "AbortMultipartUpload", "s3:AbortMultipartUpload", (object_arn,), context
            )
        action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
        return _s3_request(access_key, "DeleteObject", action, (object_arn,), context)
    return _s3_request(access_key, method, f"s3:{method}", (object_arn,), context)


def _s3_request(
    access_key: str, operation: str, action: str, resources: tuple[str, ...], context: dict[str, Any]
) -> AwsRequest:
    return AwsRequest(access_key, "s3", operation, (AuthRequest(action, resources, context),), "rest-xml")
