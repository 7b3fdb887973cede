"""Every patch of moto's internals is checked against the pinned moto and fails loudly, naming itself,
when what it replaces moved; installing and uninstalling leaves moto as it was; and with the DynamoDB
patch, threads that read and write one item concurrently each see it whole, in-process and in server
mode (without it they fail with moto's ``dictionary changed size during iteration``)."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from lipsync.local import moto_caches, quotas
from lipsync.local.lambda_functions import FunctionRegistry
from lipsync.local.moto_patches import MotoPatches, MotoSeamError, Patch
from lipsync.local.moto_server import QUICK_STOP, quick_stop_moto_server
from lipsync.local.seams import Seams, consistent_dynamodb
from lipsync.local.stack import MOTO_CONFIG

MISSING = object()


def declared() -> list[Patch]:
    """Every patch the local runtime makes."""
    return [*Seams(FunctionRegistry()).patches(), *quotas.HISTORY_QUOTA, *moto_caches.caches(), QUICK_STOP]


def test_every_patch_fits_the_pinned_moto() -> None:
    MotoPatches(declared()).check()


@pytest.mark.parametrize("patch", declared(), ids=lambda patch: patch.name)
def test_a_patch_whose_target_is_gone_fails_loudly_naming_it(
    patch: Patch, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = patch.owners()[0]
    monkeypatch.delattr(owner, patch.attribute)
    with pytest.raises(MotoSeamError, match=re.escape(f"{patch.name} (for: {patch.why}): it is gone")):
        MotoPatches([patch]).check()


def test_a_changed_signature_or_source_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", lambda self, name, body: None)
    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", lambda self: None)
    with pytest.raises(MotoSeamError) as raised:
        MotoPatches(declared()).check()
    assert (
        "LambdaSimpleBackend.invoke (for: a Lambda invocation runs our handler): "
        "changed its signature to (self, name, body)"
    ) in str(raised.value)
    assert "_get_evaluation_entrypoint (for: a definition, parsed once for all its executions): " in str(
        raised.value
    )


def test_another_moto_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(MotoSeamError, match=r"moto is 9\.9\.9"):
        MotoPatches(declared()).check()


def test_installed_patches_check_clean_and_uninstall_leaves_moto_as_it_was() -> None:
    patches = declared()

    def state() -> list[Any]:
        return [vars(o).get(p.attribute, MISSING) for p in patches for o in p.owners()]

    before = state()
    installed = MotoPatches(patches).install()
    try:
        assert all(a is not b for a, b in zip(before, state(), strict=True))  # each one replaced
        MotoPatches(patches).check()  # what the installed patches replaced is still checked
    finally:
        installed.uninstall()
    assert all(a is b for a, b in zip(before, state(), strict=True))


# -- DynamoDB under threads -----------------------------------------------------------------------


@pytest.fixture
def switching_often() -> Iterator[None]:
    """Threads take turns every microsecond, so that an unguarded race shows itself at once."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def hammer(dynamodb: Any, rounds: int) -> list[str]:
    """Four writers add and remove entries of one item's map while four readers read it: the errors."""
    dynamodb.create_table(
        TableName="hammered",
        KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"key": {"S": "shared"}}
    base = {f"entry-{index}": {"N": "1"} for index in range(20)}
    dynamodb.put_item(TableName="hammered", Item={**key, "entries": {"M": base}})
    errors: list[str] = []
    seen: list[int] = []

    def writer(number: int) -> None:
        for index in range(rounds):
            names = {"#entry": f"writer-{number}-{index}"}
            dynamodb.update_item(
                TableName="hammered",
                Key=key,
                UpdateExpression="SET entries.#entry = :one",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            dynamodb.update_item(
                TableName="hammered",
                Key=key,
                UpdateExpression="REMOVE entries.#entry",
                ExpressionAttributeNames=names,
            )

    def reader(_: int) -> None:
        for _ in range(rounds):
            item = dynamodb.get_item(TableName="hammered", Key=key, ConsistentRead=True)["Item"]
            seen.append(len(item["entries"]["M"]))

    def guarded(work: Callable[[int], None], number: int) -> None:
        try:
            work(number)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}"[:200])

    start = threading.Barrier(8)

    def run(work: Callable[[int], None], number: int) -> None:
        start.wait()
        guarded(work, number)

    with ThreadPoolExecutor(8) as pool:
        for number in range(4):
            pool.submit(run, writer, number)
            pool.submit(run, reader, number)
    final = dynamodb.get_item(TableName="hammered", Key=key, ConsistentRead=True)["Item"]
    assert final["entries"]["M"] == base or errors  # every entry added was removed again
    assert all(len(base) <= count <= len(base) + 4 for count in seen)  # each read saw a whole item
    return errors


def test_dynamodb_reads_and_writes_from_threads_are_consistent_in_process(switching_often: None) -> None:
    with mock_aws(), consistent_dynamodb():
        assert hammer(boto3.client("dynamodb", region_name="us-east-1"), rounds=20) == []


def test_dynamodb_reads_and_writes_from_threads_are_consistent_in_server_mode(switching_often: None) -> None:
    server = quick_stop_moto_server("127.0.0.1", 0)
    try:
        host, port = server.get_host_and_port()
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()  # moto is global
        # No retries: moto's answer to a race is a 500, which boto3 would otherwise retry and hide.
        config = Config(retries={"total_max_attempts": 1}, max_pool_connections=8)
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1", config=config
        )
        with consistent_dynamodb():
            assert hammer(dynamodb, rounds=30) == []
    finally:
        server.stop()


def stop_right_after_start(executions: int, seams: Seams) -> list[str]:
    """Start executions of an hour's Wait and stop each at once; what each execution ended as (or the
    error StopExecution answered)."""
    import json

    definition = {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
    machine = stepfunctions.create_state_machine(
        name="stopped-at-once",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/stepfunctions",
    )["stateMachineArn"]
    outcomes = []
    for number in range(executions):
        arn = stepfunctions.start_execution(stateMachineArn=machine, name=f"run-{number}")["executionArn"]
        try:
            stepfunctions.stop_execution(executionArn=arn)
        except Exception as error:  # moto's answer to the race: its AttributeError
            outcomes.append(type(error).__name__)
            continue
        assert seams.wait_for(arn, timeout=30), "the stopped execution did not end"
        outcomes.append(stepfunctions.describe_execution(executionArn=arn)["status"])
    return outcomes


def test_an_execution_stopped_right_after_it_started_is_aborted() -> None:
    seams = Seams(FunctionRegistry(), time_scale=1.0)  # the Wait really lasts an hour: only a stop ends it
    with mock_aws(config=MOTO_CONFIG), MotoPatches(seams.patches()).installed():
        assert stop_right_after_start(10, seams) == ["ABORTED"] * 10
