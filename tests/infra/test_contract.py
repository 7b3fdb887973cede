"""The state machine and the Lambdas speak through ``lipsync_core.jobs.domain.contract``: every status a
Choice tests, every error a Retry or Catch matches, every Fail state's error and every detail type the
definition puts is one of the contract's names (AWS's own ``States.*`` and ``Lambda.*`` aside)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest

from lipsync_core.jobs.domain.contract import (
    CursorStatus,
    DetailType,
    ErrorName,
    FailState,
    JobStatus,
    Status,
)
from lipsync_core.volc.models import TASK_STATUSES

pytestmark = pytest.mark.xdist_group("synth")


def names(namespace: type) -> set[str]:
    return {value for key, value in vars(namespace).items() if key.isupper()}


def choices(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every rule of every Choice state, nested ``And``/``Or``/``Not`` rules included."""
    rules = [rule for state in definition["States"].values() for rule in state.get("Choices", [])]
    while rules:
        rule = rules.pop()
        yield rule
        rules.extend(rule.get("And", []) + rule.get("Or", []) + ([rule["Not"]] if "Not" in rule else []))


def test_the_contracts_statuses_are_the_records_and_the_services() -> None:
    assert {name: getattr(Status, name) for name in get_args(JobStatus)} == {
        s: s for s in get_args(JobStatus)
    }
    ours = {CursorStatus.SUBMITTED, CursorStatus.INPUT_UNREACHABLE}
    assert names(CursorStatus) - ours == set(TASK_STATUSES)


def test_every_status_a_choice_tests_is_the_contracts(definition: dict[str, Any]) -> None:
    tested = {
        (rule["Variable"], rule["StringEquals"]) for rule in choices(definition) if "StringEquals" in rule
    }
    assert {value for variable, value in tested if variable == "$.cursor.status"} <= names(CursorStatus)
    assert {value for variable, value in tested if variable == "$.event.status"} <= names(Status)
    assert {variable for variable, _ in tested} == {"$.cursor.status", "$.event.status"}


def test_every_error_name_in_the_definition_is_the_contracts(definition: dict[str, Any]) -> None:
    states = definition["States"].values()
    matched = {
        error
        for state in states
        for handler in state.get("Retry", []) + state.get("Catch", [])
        for error in handler["ErrorEquals"]
    }
    ours = {error for error in matched if not error.startswith(("States.", "Lambda.", "Sandbox."))}
    assert ours == {
        ErrorName.THROTTLED,
        ErrorName.UNAVAILABLE,
        ErrorName.RESULT_DOWNLOAD,
        ErrorName.SUBMIT_DEFERRED,
        ErrorName.INPUT_UNREADABLE,
    }
    assert {ErrorName.LAMBDA_THROTTLED, ErrorName.LAMBDA_TIMED_OUT, ErrorName.STATES_TIMEOUT} <= matched
    raised = {state["Parameters"]["Error"] for state in states if "Error" in state.get("Parameters", {})}
    assert raised == {ErrorName.TASK_LOST, ErrorName.QUEUE_TIMEOUT}
    failed = {state["Error"] for state in states if state["Type"] == "Fail"}
    assert failed == names(FailState) - {FailState.JOB_CANCELLED}


def test_every_event_the_definition_puts_is_the_contracts(definition: dict[str, Any]) -> None:
    put = {
        entry["DetailType"]
        for state in definition["States"].values()
        if state["Type"] == "Task" and "events:putEvents" in state["Resource"]
        for entry in state["Parameters"]["Entries"]
    }
    assert put == {DetailType.SUCCEEDED, DetailType.FAILED}
