"""Events as AWS delivers them to Lambda (S3 notifications, EventBridge, API Gateway REST proxy), so
the local runtime can hand our handlers exactly what they get on AWS."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from .template import ACCOUNT_ID, REGION


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def s3_object_created(
    bucket: str, key: str, *, size: int, etag: str, version_id: str | None = None
) -> dict[str, Any]:
    """An ``ObjectCreated:Put`` notification; the key is URL-encoded with '+' for spaces, as S3 does."""
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag.strip('"'),
        "sequencer": uuid.uuid4().hex[:16].upper(),
    }
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": _now(),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": "local",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "jobs-manifests",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def eventbridge_delivery(entry: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """What a rule target receives for a ``PutEvents`` entry."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT_ID,
        "time": _now()[:19] + "Z",
        "region": REGION,
        "resources": entry.get("Resources", []),
        "detail": json.loads(entry["Detail"]),
    }


API_ROUTES = ("/jobs/{job_id}", "/jobs", "/uploads")


def api_gateway_proxy(
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "v1",
) -> dict[str, Any]:
    """A REST API (v1) proxy event for one of the API's routes."""
    resource, parameters = path, None
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "jobs":
        resource, parameters = "/jobs/{job_id}", {"job_id": parts[1]}
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers or {},
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": parameters,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {
                "sourceIp": "127.0.0.1",
                "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
                "caller": "local",
                "user": "local",
                "accessKey": None,
            },
        },
    }


def _millis(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def execution_status_change(execution: Any) -> dict[str, Any]:
    """The ``Step Functions Execution Status Change`` event AWS puts on the default bus when an
    execution ends, for moto's ``Execution`` (which sends none)."""
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if execution.output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }
    return {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Resources": [execution.exec_arn],
        "Detail": json.dumps(detail),
        "EventBusName": "default",
    }


def scheduled_event() -> dict[str, Any]:
    """What an EventBridge schedule delivers."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": _now(),
        "region": REGION,
        "resources": [],
        "detail": {},
    }


def failure_record(function: str, event: dict[str, Any], error: Exception, tries: int) -> dict[str, Any]:
    """What Lambda sends an asynchronous invocation's on-failure destination once retries are exhausted
    (its "invocation record")."""
    return {
        "version": "1.0",
        "timestamp": _now(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": tries,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)},
    }
