"""Step Functions' 25,000 history events, at the boundary AWS documents: event 25,000 may be the
execution's success; any other event 25,000 is recorded as ``ExecutionFailed`` (``States.Runtime``) and
fails the execution, whatever error its last state then raises, and nothing is recorded after it. (A
whole execution driven to the quota: ``tests/e2e/test_quotas.py``.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lipsync.local import quotas
from lipsync.local.moto_patches import MotoPatches


@pytest.fixture(autouse=True)
def history_quota() -> Iterator[None]:
    with MotoPatches(quotas.HISTORY_QUOTA).installed():
        yield


def execution(kind: str = "STANDARD") -> Any:
    """A running execution's environment, as moto's worker makes it, bound by the quota."""
    from moto.stepfunctions.parser.api import StateMachineType
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.evaluation_details import AWSExecutionDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext

    context: Any = {
        "Execution": {"Id": "e", "Input": {}, "Name": "e", "RoleArn": "r", "StartTime": "t"},
        "StateMachine": {"Id": "m", "Name": "m"},
    }
    env = Environment(
        aws_execution_details=AWSExecutionDetails("123456789012", "us-east-1", "r"),
        execution_type=StateMachineType(kind),
        context=context,
        event_history_context=EventHistoryContext.of_program_start(),
        cloud_watch_logging_session=None,
        activity_store={},
    )
    env.next_state_name = "Spin"
    return quotas.bound_history(env)


def record(env: Any, event_type: str, times: int = 1) -> int:
    event_id = 0
    for _ in range(times):
        event_id = env.event_manager.add_event(context=env.event_history_context, event_type=event_type)
    return event_id


def test_the_quota_is_awss() -> None:
    assert quotas.MAX_HISTORY_EVENTS == 25_000
    assert quotas.HISTORY_FULL == {
        "error": "States.Runtime",
        "cause": "The execution reached the maximum number of history events (25000).",
    }


def test_event_25000_may_be_the_executions_success() -> None:
    env = execution()
    assert record(env, "PassStateEntered", times=24_999) == 24_999
    assert record(env, "ExecutionSucceeded") == 25_000
    assert env.event_manager.get_event_history()[-1]["type"] == "ExecutionSucceeded"
    assert env.is_running()  # the quota took no part: the program ends it as usual


def test_any_other_event_25000_fails_the_execution_and_nothing_follows() -> None:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError

    env = execution()
    record(env, "PassStateEntered", times=24_999)
    assert record(env, "TaskStateEntered") == 25_000
    # the state in flight then ends, and its end raises another error: the execution's stays the quota's
    record(env, "TaskStateExited", times=3)
    env.set_error({"error": "States.Runtime", "cause": "ValueError(Could not set NextState value)"})

    history = env.event_manager.get_event_history()
    assert len(history) == 25_000
    assert history[-2]["type"] == "PassStateEntered"
    assert history[-1]["type"] == "ExecutionFailed"
    assert history[-1]["executionFailedEventDetails"] == quotas.HISTORY_FULL
    state = env.program_state()
    assert isinstance(state, ProgramError)
    assert state.error == quotas.HISTORY_FULL


def test_an_express_execution_keeps_no_history_to_bound() -> None:
    env = execution("EXPRESS")
    assert record(env, "PassStateEntered", times=25_001) == 25_001
    assert env.is_running()
