"""The job state machine (DESIGN §2): Prepare (the inputs probed, refused or normalised before the job
waits or pays), the line (WaitForAdmission, paused on a task token until the dispatcher admits the
job), Submit, an adaptive Wait, Poll and a Choice; bounded resubmission; retries with backoff and
jitter on the retryable error classes only; every failure caught into one path; exactly one terminal
event per job."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lipsync_core.jobs.domain.contract import CursorStatus, DetailType, ErrorName, FailState, Status

from .config import StackConfig
from .functions import WorkflowFunctions
from .resources import PipelineResources

SUCCEEDED_DETAIL_TYPE = DetailType.SUCCEEDED  # every name the Lambdas share: lipsync_core's contract
FAILED_DETAIL_TYPE = DetailType.FAILED
THROTTLED = [ErrorName.THROTTLED, ErrorName.SUBMIT_DEFERRED]
UNAVAILABLE = [ErrorName.UNAVAILABLE]
DOWNLOAD = [ErrorName.RESULT_DOWNLOAD]
LAMBDA_THROTTLED = [ErrorName.LAMBDA_THROTTLED]
TIMED_OUT = [ErrorName.LAMBDA_TIMED_OUT]
STATUS = "$.cursor.status"
SEGMENTS = "$.prepared.segments.segments"  # Prepare's plan, when the voice needs segments
# Being busy never fails a job: throttling (ours, the service's, Lambda's) is retried until the
# state machine's timeout, which the job's deadline sets. Submit and Poll turn the service's
# throttles into waits themselves; these retries are for the steps that cannot.
UNTIL_DEADLINE = 100_000
# The retryable error classes: (errors, first interval s, attempts, longest wait s); backoff 2, full jitter.
RETRIES = [(THROTTLED, 5, UNTIL_DEADLINE, 120), (UNAVAILABLE, 3, 5, 60)]


@dataclass(frozen=True)
class WorkflowProps(PipelineResources):
    functions: WorkflowFunctions  # the tasks
    prepare: lambda_.IFunction  # the first task (infra/preparation.py)
    join: lambda_.IFunction  # the segments' results into the job's (infra/preparation.py)


class JobWorkflow(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: WorkflowProps) -> None:
        super().__init__(scope, construct_id)
        config, functions, bus = props.config, props.functions, props.bus

        # First the inputs, before the job waits for capacity (or, later, in line): what cannot work is
        # refused unpaid, what the service dislikes is converted, a voice over one task's limit is cut
        # into segments; the job's record keeps the outcome.
        prepare = self._invoke("Prepare", props.prepare, result_path="$.prepared")
        # A last resort: the execution ends FAILED with a name the reconciler acts on (it announces the
        # terminal event from the record), so no job ends silently.
        not_announced = sfn.Fail(
            self,
            "AnnouncementFailed",
            error=FailState.ANNOUNCEMENT_FAILED,
            cause="the terminal event could not be put; the reconciler announces it from the record",
        )
        emit_succeeded = self._emit("EmitSucceeded", bus, config, SUCCEEDED_DETAIL_TYPE)
        emit_succeeded.add_catch(not_announced, errors=["States.ALL"], result_path="$.last_error")
        emit_succeeded.next(sfn.Succeed(self, "JobSucceeded"))
        failure_path = self._failure_path(functions, bus, config, not_announced)
        self._retry(prepare, [ErrorName.INPUT_UNREADABLE], interval=3, attempts=2, max_delay=30)
        prepare.add_catch(failure_path, errors=["States.ALL"], result_path="$.error")

        # One task: the line, Submit, the adaptive Wait and Poll loop, CopyResult.
        one_task = self._task("", functions, config, failure=failure_path, done=emit_succeeded)
        # Segments: each one the same path on a job record of its own (``domain.segmenting``), side by
        # side as the line admits them; then their results joined into the job's.
        segments = self._segments(functions, config)
        segments.add_catch(failure_path, errors=["States.ALL"], result_path="$.error")
        join = self._invoke("JoinSegments", props.join, result_path="$.event")
        self._retry(join, UNAVAILABLE + DOWNLOAD, interval=3, attempts=3, max_delay=60)
        self._retry(join, TIMED_OUT, interval=5, attempts=2, max_delay=60)  # the segments are paid work
        join.add_catch(failure_path, errors=["States.ALL"], result_path="$.error")
        segments.next(join).next(emit_succeeded)
        definition = prepare.next(
            sfn.Choice(self, "Segmented")
            .when(sfn.Condition.is_present(SEGMENTS), segments)
            .otherwise(one_task)
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=config.state_machine_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self,
                    "Logs",
                    log_group_name=props.names.state_machine_logs,  # under /aws/vendedlogs/ (names.py)
                    retention=logs.RetentionDays.ONE_MONTH,
                    removal_policy=cdk.RemovalPolicy.DESTROY,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,  # states and transitions, not payloads
            ),
        )

    def _failure_path(
        self,
        functions: WorkflowFunctions,
        bus: events.IEventBus,
        config: StackConfig,
        not_announced: sfn.Fail,
    ) -> sfn.IChainable:
        """Every failure of the job ends here: recorded, announced once, the execution FAILED."""
        record_failure = self._invoke("RecordFailure", functions.record_failure, result_path="$.event")
        emit_failed = self._emit("EmitFailed", bus, config, FAILED_DETAIL_TYPE)
        failed = sfn.Fail(self, "JobFailed", error=FailState.JOB_FAILED, cause_path="$.event.error.message")
        not_recorded = sfn.Fail(  # the reconciler records the failure and announces it
            self,
            "FailureNotRecorded",
            error=FailState.FAILURE_NOT_RECORDED,
            cause="recording the failure failed; the reconciler records and announces it",
        )
        self._retry_any_error(record_failure, attempts=3)
        record_failure.add_catch(not_recorded, errors=["States.ALL"], result_path="$.last_error")
        emit_failed.add_catch(not_announced, errors=["States.ALL"], result_path="$.last_error")
        # A job that already ended (cancelled through the API) announces nothing more: one terminal event.
        # Succeed, not Fail: a cancellation is not a failed execution (the ExecutionsFailed alarm).
        already_finished = sfn.Succeed(
            self, "JobAlreadyFinished", comment="the job had already ended (for example cancelled)"
        )
        return record_failure.next(
            sfn.Choice(self, "NewlyFailed")
            .when(sfn.Condition.string_equals("$.event.status", Status.FAILED), emit_failed.next(failed))
            .otherwise(already_finished)
        )

    def _segments(self, functions: WorkflowFunctions, config: StackConfig) -> sfn.Map:
        """The segments side by side (the line bounds how many run at once). A segment that fails is
        recorded as failed and fails its iteration, which fails the Map: the job fails with its reason.
        A segment's retries and resubmissions are its own; the others go on meanwhile."""
        record = self._invoke("SegmentRecordFailure", functions.record_failure, result_path="$.event")
        self._retry_any_error(record, attempts=3)
        failed = sfn.Fail(self, "SegmentFailed", error_path="$.error.Error", cause_path="$.error.Cause")
        record.add_catch(failed, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
        record.next(failed)
        done = sfn.Succeed(self, "SegmentDone")
        task = self._task("Segment", functions, config, failure=record, done=done)
        segments = sfn.Map(
            self,
            "Segments",
            items_path=SEGMENTS,
            max_concurrency=0,  # the line and the slots bound the service's work, not the Map
            result_path=sfn.JsonPath.DISCARD,  # the results are in the segments' records
        )
        segments.item_processor(task)
        return segments

    def _task(
        self,
        prefix: str,
        functions: WorkflowFunctions,
        config: StackConfig,
        *,
        failure: sfn.IChainable,
        done: sfn.IChainable,
    ) -> sfn.IChainable:
        """One paid task for the record at ``$.job_id`` (a job, or a segment: ``prefix`` names its
        states): the line, Submit, Wait and Poll until the task ends, CopyResult, then ``done``; any
        failure goes to ``failure`` with ``$.error``."""
        line = self._line(prefix, functions, config)
        submit = self._invoke(f"{prefix}Submit", functions.submit, result_path="$.cursor")
        wait = sfn.Wait(
            self, f"{prefix}WaitBeforePoll", time=sfn.WaitTime.seconds_path("$.cursor.wait_seconds")
        )
        poll = self._invoke(f"{prefix}Poll", functions.poll, result_path="$.cursor")
        copy = self._invoke(f"{prefix}CopyResult", functions.copy_result, result_path="$.event")
        task_lost = sfn.Pass(
            self,
            f"{prefix}TaskLost",
            parameters={
                "Error": ErrorName.TASK_LOST,
                "Cause": sfn.JsonPath.format(
                    "the service answered {} for task {} on attempt {}; no resubmission left",
                    sfn.JsonPath.string_at(STATUS),
                    sfn.JsonPath.string_at("$.cursor.task_id"),
                    sfn.JsonPath.json_to_string(sfn.JsonPath.number_at("$.cursor.attempt")),
                ),
            },
            result_path="$.error",
        )
        for step in (submit, poll, copy):
            for errors, interval, attempts, max_delay in RETRIES:
                self._retry(step, errors, interval, attempts, max_delay)
        self._retry(copy, DOWNLOAD, interval=10, attempts=3, max_delay=120)
        # A copy that ran out of time is paid work: try again (the copy is idempotent; what a timed-out
        # run uploaded is aborted by the bucket's lifecycle rule, and its finished object is this job's).
        self._retry(copy, TIMED_OUT, interval=5, attempts=2, max_delay=60)
        line_timed_out = sfn.Pass(
            self,
            f"{prefix}LineTimedOut",
            parameters={
                "Error": ErrorName.QUEUE_TIMEOUT,
                "Cause": f"the job waited {config.max_queue_seconds} s in the line (max_queue_seconds) "
                "without the service having capacity for it; nothing was paid",
            },
            result_path="$.error",
        )
        line.add_catch(line_timed_out.next(failure), errors=[ErrorName.STATES_TIMEOUT], result_path="$.error")
        for step in (line, submit, poll, copy):
            step.add_catch(failure, errors=["States.ALL"], result_path="$.error")

        resubmit = sfn.Condition.and_(
            sfn.Condition.or_(
                sfn.Condition.string_equals(STATUS, CursorStatus.NOT_FOUND),
                sfn.Condition.string_equals(STATUS, CursorStatus.EXPIRED),
                sfn.Condition.string_equals(STATUS, CursorStatus.INPUT_UNREACHABLE),  # fresh URLs may work
            ),
            sfn.Condition.number_less_than("$.cursor.attempt", config.max_submit_attempts),
        )
        status = (
            sfn.Choice(self, f"{prefix}TaskStatus")
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals(STATUS, CursorStatus.IN_QUEUE),
                    sfn.Condition.string_equals(STATUS, CursorStatus.GENERATING),
                    sfn.Condition.string_equals(STATUS, CursorStatus.SUBMITTED),  # no poll answered yet
                ),
                wait,
            )
            .when(sfn.Condition.string_equals(STATUS, CursorStatus.DONE), copy.next(done))
            .when(resubmit, submit)
            .otherwise(task_lost.next(failure))
        )
        wait.next(poll).next(status)
        return line.next(submit).next(wait)

    @staticmethod
    def _retry_any_error(step: sfn.TaskStateBase, attempts: int) -> None:
        """The last steps of a path (recording, announcing): any error, a few times, 2 s doubling."""
        step.add_retry(
            errors=["States.ALL"],
            interval=cdk.Duration.seconds(2),
            backoff_rate=2,
            max_attempts=attempts,
            jitter_strategy=sfn.JitterType.FULL,
        )

    def _line(self, prefix: str, functions: WorkflowFunctions, config: StackConfig) -> tasks.LambdaInvoke:
        """The job waits in the line, paused (billed nothing, no history) until the dispatcher resumes
        it with its admission; past ``max_queue_seconds`` the wait times out (States.Timeout)."""
        line = tasks.LambdaInvoke(
            self,
            f"{prefix}WaitForAdmission",
            lambda_function=functions.dispatch,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"state": sfn.JsonPath.object_at("$"), "token": sfn.JsonPath.task_token}
            ),
            result_path="$.admission",
            task_timeout=sfn.Timeout.duration(config.line_timeout) if config.line_timeout else None,
            retry_on_service_exceptions=True,
        )
        self._retry(line, LAMBDA_THROTTLED, interval=1, attempts=UNTIL_DEADLINE, max_delay=60)
        # Entering the line failed (DynamoDB unavailable, say): enter again, a few times.
        self._retry(line, ["States.TaskFailed"], interval=2, attempts=3, max_delay=30)
        return line

    @staticmethod
    def _retry(
        step: sfn.TaskStateBase, errors: list[str], interval: int, attempts: int, max_delay: int
    ) -> None:
        step.add_retry(
            errors=errors,
            interval=cdk.Duration.seconds(interval),
            backoff_rate=2,
            max_attempts=attempts,
            max_delay=cdk.Duration.seconds(max_delay),
            jitter_strategy=sfn.JitterType.FULL,
        )

    def _invoke(self, name: str, function: object, *, result_path: str) -> tasks.LambdaInvoke:
        step = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,  # type: ignore[arg-type]
            payload_response_only=True,
            result_path=result_path,
            retry_on_service_exceptions=True,
        )
        self._retry(step, LAMBDA_THROTTLED, interval=1, attempts=UNTIL_DEADLINE, max_delay=60)
        return step

    def _emit(
        self, name: str, bus: events.IEventBus, config: StackConfig, detail_type: str
    ) -> tasks.EventBridgePutEvents:
        step = tasks.EventBridgePutEvents(
            self,
            name,
            entries=[
                tasks.EventBridgePutEventsEntry(
                    detail=sfn.TaskInput.from_json_path_at("$.event"),
                    detail_type=detail_type,
                    source=config.event_source,
                    event_bus=bus,
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        self._retry_any_error(step, attempts=4)
        return step
