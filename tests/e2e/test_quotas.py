"""AWS's quotas, enforced locally with AWS's errors. Which ones moto enforces itself was tried first
(moto 5.2.5): a DynamoDB item over 400 KB, an SQS message over its queue's MaximumMessageSize and a Step
Functions state over 256 KiB are refused by moto, and these tests keep it so; EventBridge's 256 KB per
PutEvents request is not, and the local runtime's guard (``lipsync.local.quotas``) refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from lipsync.local import quotas
from lipsync.local.lambda_functions import FunctionRegistry
from lipsync.local.moto_patches import MotoPatches
from lipsync.local.moto_server import quick_stop_moto_server
from lipsync.local.seams import Seams
from tests.support.media import Media
from tests.support.templates import runtime_from, with_timeout

pytestmark = pytest.mark.xdist_group("e2e")  # moto's backends are process-wide

ROLE = "arn:aws:iam::123456789012:role/machine"


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    server = quick_stop_moto_server("127.0.0.1", 0, (quotas.enforced,))
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    requests.post(f"{endpoint}/moto-api/config", json=config, timeout=10).raise_for_status()

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        )

    yield client
    server.stop()


def refused(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def test_eventbridge_refuses_a_put_events_request_of_256_kb(aws: Any) -> None:
    events = aws("events")

    def entry(detail_bytes: int) -> dict[str, str]:  # sized as EventBridge sizes it: 2 + detail_bytes
        return {"Source": "s", "DetailType": "d", "Detail": '{"x":"' + "x" * (detail_bytes - 8) + '"}'}

    # the total of the entries counts, not each one: two entries of 140 KB are one request too many
    code, status, message = refused(lambda: events.put_events(Entries=[entry(140_000)] * 2))
    assert (code, status) == ("ValidationException", 400)
    assert message == "Total size of the entries in the request is over the limit."
    assert events.put_events(Entries=[entry(200_000)])["FailedEntryCount"] == 0
    largest = 256 * 1024 - 1 - len("s") - len("d")  # "must be less than 256KB"
    assert events.put_events(Entries=[entry(largest)])["FailedEntryCount"] == 0
    assert refused(lambda: events.put_events(Entries=[entry(largest + 1)]))[0] == "ValidationException"


def test_dynamodb_refuses_an_item_over_400_kb(aws: Any) -> None:
    dynamodb = aws("dynamodb")
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code, status, message = refused(
        lambda: dynamodb.put_item(TableName="jobs", Item={"id": {"S": "a"}, "x": {"S": "x" * 410_000}})
    )
    assert (code, status) == ("ValidationException", 400)
    assert "Item size has exceeded the maximum allowed size" in message
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "b"}, "x": {"S": "x" * 300_000}})
    code, _, message = refused(
        lambda: dynamodb.update_item(
            TableName="jobs",
            Key={"id": {"S": "b"}},
            UpdateExpression="SET y = :y",
            ExpressionAttributeValues={":y": {"S": "y" * 110_000}},
        )
    )
    assert code == "ValidationException"
    assert "Item size to update has exceeded the maximum allowed size" in message


def test_sqs_refuses_a_message_over_the_queues_maximum_size(aws: Any) -> None:
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName="q", Attributes={"MaximumMessageSize": str(256 * 1024)})["QueueUrl"]
    code, status, _ = refused(lambda: sqs.send_message(QueueUrl=queue, MessageBody="x" * (256 * 1024 + 1)))
    assert (code, status) == ("InvalidParameterValue", 400)
    sqs.send_message(QueueUrl=queue, MessageBody="x" * (256 * 1024))


def test_step_functions_fails_a_state_over_256_kib_with_data_limit_exceeded(aws: Any) -> None:
    stepfunctions = aws("stepfunctions")

    def machine(name: str, result_bytes: int) -> str:
        definition = {
            "StartAt": "Big",
            "States": {"Big": {"Type": "Pass", "Result": {"x": "x" * result_bytes}, "End": True}},
        }
        return str(
            stepfunctions.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
                "stateMachineArn"
            ]
        )

    seams = Seams(FunctionRegistry())
    with MotoPatches(seams.patches()).installed():
        outcomes = {}
        for name, size in (("small", 100_000), ("large", 300_000)):
            arn = stepfunctions.start_execution(stateMachineArn=machine(name, size), name=name)[
                "executionArn"
            ]
            assert seams.wait_for(arn, timeout=60)
            outcomes[name] = arn
    assert stepfunctions.describe_execution(executionArn=outcomes["small"])["status"] == "SUCCEEDED"
    failed = stepfunctions.describe_execution(executionArn=outcomes["large"])
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.DataLimitExceeded"


def test_step_functions_fails_an_execution_at_25000_history_events(aws: Any) -> None:
    # Given a Standard state machine that loops forever (a Pass and a Choice: four events a turn)
    stepfunctions = aws("stepfunctions")
    spin = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.spin", "BooleanEquals": True, "Next": "Spin"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    machine = stepfunctions.create_state_machine(name="spin", definition=json.dumps(spin), roleArn=ROLE)
    seams = Seams(FunctionRegistry())
    # When it runs under the local runtime's patches (AWS's quota among them)
    with MotoPatches([*seams.patches(), *quotas.HISTORY_QUOTA]).installed():
        arn = stepfunctions.start_execution(
            stateMachineArn=machine["stateMachineArn"], input=json.dumps({"spin": True})
        )["executionArn"]
        assert seams.wait_for(arn, timeout=300)
    # Then it failed as AWS fails it: event 25,000 is ExecutionFailed with States.Runtime
    failed = stepfunctions.describe_execution(executionArn=arn)
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "States.Runtime",
        "The execution reached the maximum number of history events (25000).",
    )
    # (read from the server's backend, in this process: moto answers GetExecutionHistory with every
    # event in one page, and serialising 25,000 of them takes longer than the execution itself)
    backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    events = backend.get_execution_history(arn)["events"]
    assert len(events) == 25_000
    assert events[-1]["id"] == 25_000
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1].get("executionFailedEventDetails") == quotas.HISTORY_FULL
    assert events[-2]["type"] in ("PassStateEntered", "PassStateExited", "ChoiceStateEntered")


def test_a_step_that_outlives_its_functions_timeout_fails_the_job_with_sandbox_timedout(
    tmp_path: Path, media: Media
) -> None:
    # Given the stack with Submit's timeout at 1 s, and a provider that takes 5 s to answer a submission
    with runtime_from(tmp_path, with_timeout("Functionssubmit", 1)) as runtime:
        assert runtime.endpoints
        runtime.emulator.admin.add_faults({"fault": "slow", "delay": 5, "count": 1, "action": "CVSubmitTask"})
        request = {
            "mode": "lite",
            "video": media.url("face.mp4"),
            "audio": media.url("voice.wav"),
        }
        # When a job is asked for
        answer = requests.post(f"{runtime.endpoints.api}/jobs", json=request, timeout=30)
        assert answer.status_code == 202, answer.text
        # Then Submit's invocation fails as Lambda's does, and the job with it (Submit has no Retry for it)
        event = runtime.wait_for_terminal_event(answer.json()["job_id"], timeout=90)
        assert event["detail-type"] == "LipSync Job Failed"
        assert event["detail"]["error"]["name"] == "Sandbox.Timedout"
