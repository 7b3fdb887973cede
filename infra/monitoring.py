"""Alarms (failed and timed-out executions, Lambda errors and throttles, undeliverable requests) to an
SNS topic, and a dashboard of the pipeline."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .functions import METRICS_NAMESPACE

FIVE_MINUTES = cdk.Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.IFunction],
        failed_deliveries: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Alarms",
            display_name="Lip-sync pipeline alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=FIVE_MINUTES, statistic="Sum"),
            threshold=5,
            description="Five or more jobs failed in five minutes",
        )
        self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="A job's execution timed out: it ended without a terminal event",
        )
        for name, function in functions.items():
            self._alarm(
                f"{name}-Errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"The {name} function raised unhandled errors",
            )
            self._alarm(
                f"{name}-Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"The {name} function was throttled",
            )
        self._alarm(
            "FailedDeliveries",
            failed_deliveries.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            threshold=1,
            description="A manifest or request event could not be processed",
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(6))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=FIVE_MINUTES),
                    state_machine.metric_succeeded(period=FIVE_MINUTES),
                    state_machine.metric_failed(period=FIVE_MINUTES),
                    state_machine.metric_timed_out(period=FIVE_MINUTES),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[f.metric_errors(period=FIVE_MINUTES, label=n) for n, f in functions.items()],
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p90",
                left=[
                    f.metric_duration(period=FIVE_MINUTES, statistic="p90", label=n)
                    for n, f in functions.items()
                ],
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Jobs (custom metrics)",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SUM(SEARCH('{{{METRICS_NAMESPACE},service}} "
                        f"MetricName=\"{m}\"', 'Sum', 300))",
                        label=m,
                    )
                    for m in ("JobsSubmitted", "JobsSucceeded", "JobsFailed", "JobsRejected", "Throttles")
                ],
            ),
            cloudwatch.GraphWidget(
                title="Polls and bytes copied",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SUM(SEARCH('{{{METRICS_NAMESPACE},service}} "
                        f"MetricName=\"Polls\"', 'Sum', 300))",
                        label="Polls",
                    )
                ],
                right=[
                    cloudwatch.MathExpression(
                        expression=f"SUM(SEARCH('{{{METRICS_NAMESPACE},service}} "
                        f"MetricName=\"BytesCopied\"', 'Sum', 300))",
                        label="BytesCopied",
                    )
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values())),
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            alarm_description=description,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
