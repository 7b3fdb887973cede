"""The unit tests' AWS: moto in this process, with the stack's own DynamoDB tables (keys, attributes and
indexes read from the synthesized template, cached across runs) under short names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lipsync.local.seams import consistent_dynamodb
from lipsync.local.synth import synthesized_template
from lipsync.local.template import Template
from lipsync_core.jobs.access.job_store import JobStore


@pytest.fixture(scope="session")
def stack() -> Template:
    return Template(synthesized_template())


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in this process, each DynamoDB operation atomic as on AWS (tests call it from threads)."""
    with mock_aws(), consistent_dynamodb():
        yield


def stack_table(stack: Template, construct: str, name: str) -> Any:
    """The stack's table made by ``construct``, as a boto3 ``Table`` called ``name``."""
    definition = stack.table_definition(stack.table(construct))
    return boto3.resource("dynamodb", region_name="us-east-1").create_table(TableName=name, **definition)


@pytest.fixture
def jobs_table(aws: None, stack: Template) -> Any:
    return stack_table(stack, "Jobs", "jobs")


@pytest.fixture
def flow_table(aws: None, stack: Template) -> Any:
    return stack_table(stack, "FlowControl", "flow")


@pytest.fixture
def store(jobs_table: Any) -> JobStore:
    return JobStore(jobs_table)
