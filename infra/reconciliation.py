"""The last word on every job: a rule on the state machine's execution status changes, and a
periodic sweep, both calling ``reconcile``. Whatever ends an execution (a failure our own steps
could not catch, a timeout, a stop from outside), the job's record ends, its terminal event is
announced once, and its capacity slot is given back."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .function_factory import index_query, item_access, item_removal
from .resources import DeliveryProps
from .rules import delivered_to

STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
SWEEP_EVERY = cdk.Duration.minutes(5)  # a leaked slot costs at most this long


@dataclass(frozen=True)
class ReconciliationProps(DeliveryProps):
    state_machine: sfn.StateMachine  # whose executions it watches


class Reconciliation(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: ReconciliationProps) -> None:
        super().__init__(scope, construct_id)
        table, state_machine = props.table, props.state_machine
        self.function = props.factory.build(self, "reconcile", timeout=120)
        self.function.add_to_role_policy(item_access(table, props.flow_table))
        self.function.add_to_role_policy(item_removal(table))  # an ended job leaves the line
        self.function.add_to_role_policy(index_query(table, "by-status"))
        self.function.add_to_role_policy(  # the sweep reads its page's items (the index holds keys only)
            iam.PolicyStatement(actions=["dynamodb:BatchGetItem"], resources=[table.table_arn])
        )
        executions = cdk.Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])
        )
        props.bus.grant_put_events_to(self.function)

        target = delivered_to(self.function, props)
        # Step Functions sends status changes to the account's default bus.
        self.status_rule = events.Rule(
            self,
            "ExecutionEnded",
            description="Every end of a job execution: reconcile the job and free its capacity",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[STATUS_CHANGE],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": ENDED},
            ),
            targets=[target],
        )
        self.sweep_rule = events.Rule(
            self,
            "Sweep",
            description="Free capacity held by ended jobs; end jobs whose executions ended unnoticed",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[target],
        )
