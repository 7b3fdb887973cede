"""``lipsync up`` as a user runs it (a process of its own, every port picked free, SigV4 checked),
shared by the client and CLI tests of this package."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import processes

FREE_PORTS = ("--port", "0", "--api-port", "0", "--emulator-port", "0")
LOCAL_SECRET = "local"  # what `lipsync up --auth iam` checks signatures against (it prints it)


@dataclass(frozen=True)
class Up:
    document: dict[str, Any]
    env: dict[str, str]  # the environment its banner says to export

    @property
    def api(self) -> str:
        return str(self.document["api"])


@pytest.fixture(scope="package")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    log = tmp_path_factory.mktemp("up") / "stderr.log"  # a file: a full pipe would block the stack
    command = [sys.executable, "-m", "lipsync", "up", "--json", "--auth", "iam", *FREE_PORTS]
    with log.open("w") as stderr:
        process = processes.popen(command, stdout=subprocess.PIPE, stderr=stderr)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the one JSON document, once everything listens
        assert line, log.read_text()
        document = json.loads(line)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": document["aws"],
            "AWS_DEFAULT_REGION": document["region"],
            "AWS_ACCESS_KEY_ID": "any-key-will-do",
            "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET,
            "LIPSYNC_ENDPOINT": document["api"],
        }
        env.pop("AWS_SESSION_TOKEN", None)
        yield Up(document, env)
    finally:
        try:
            processes.stop(process, timeout=60)
        except AssertionError as hung:
            raise AssertionError(f"{hung}\n{log.read_text()}") from None
    logged = log.read_text()
    assert process.returncode == 0, logged
    # One line per API request and per job transition, and nothing else (no traceback).
    lines = logged.splitlines()
    assert lines, "lipsync up logged nothing"
    pattern = re.compile(
        r"^\d\d:\d\d:\d\d (API (GET|POST|DELETE) /\S* \d{3}|job \S+ [A-Z]+|event LipSync .+"
        r"|local trigger: \S+ failed: WebhookDeliveryError: the webhook answered HTTP 500)$"
    )
    assert [line for line in lines if not pattern.match(line)] == []
    if any(line.endswith("API POST /jobs 202") for line in lines):  # the tests wait for their jobs
        assert any(re.search(r"job \S+ (SUCCEEDED|FAILED|CANCELLED)$", line) for line in lines), logged


def up_session() -> Any:
    """The credentials a user has after pasting the banner's exports."""
    import boto3

    return boto3.Session(
        aws_access_key_id="any-key-will-do", aws_secret_access_key=LOCAL_SECRET, region_name="us-east-1"
    )


@pytest.fixture
def session(up: Up) -> Any:
    return up_session()
