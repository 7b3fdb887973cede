"""Alarms (failed and timed-out executions, Lambda errors and throttles, undeliverable requests, API 5xx,
latency and throttling, table throttles and system errors) to an SNS topic CloudWatch can publish to,
and a dashboard of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lipsync_core.jobs.domain import metrics as m

from .function_factory import METRICS_NAMESPACE
from .resources import DeliveryProps

FIVE_MINUTES = cdk.Duration.minutes(5)
API_LATENCY_P99_MS = 5000  # the api function's own work is a few table calls; 5 s means trouble
TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.SCAN,
]


class AlarmTopic(Construct):
    """An SNS topic encrypted with a key of our own that CloudWatch may use (the AWS-managed
    ``alias/aws/sns`` key's policy cannot grant it), and a topic policy letting CloudWatch publish,
    both only for this pipeline's alarms in this account (``aws:SourceAccount``, ``aws:SourceArn``)."""

    def __init__(self, scope: Construct, construct_id: str, *, alarm_name_prefix: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=f"{alarm_name_prefix}*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the lip-sync alarm topic; CloudWatch may use it for this stack's alarms",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,  # it protects transient notifications only
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsUseTheKey",
                principals=[cloudwatch_principal],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=conditions,
            )
        )
        self.topic = sns.Topic(
            self, "Topic", display_name="Lip-sync pipeline alarms", enforce_ssl=True, master_key=self.key
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )


@dataclass(frozen=True)
class MonitoringProps(DeliveryProps):
    state_machine: sfn.StateMachine
    api: apigateway.RestApi
    api_access_logs: logs.ILogGroup


class Monitoring(Construct):
    """Built last: it reads every function the pipeline's factory built (and no function can be built
    after it), so each one has its error and throttle alarms."""

    def __init__(self, scope: Construct, construct_id: str, props: MonitoringProps) -> None:
        super().__init__(scope, construct_id)
        state_machine, api, table = props.state_machine, props.api, props.table
        functions = props.factory.seal(reader="monitoring")
        # Named alarms, so the topic's and key's aws:SourceArn condition can match exactly these.
        self.alarm_name_prefix = props.names.alarm_prefix
        alarm_topic = AlarmTopic(self, "AlarmTopic", alarm_name_prefix=self.alarm_name_prefix)
        self.topic = alarm_topic.topic
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
            props.dead_letters.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            threshold=1,
            description="A manifest or request event could not be processed",
        )
        self._api_alarms(api, props.api_access_logs)
        self._alarm(
            "TableThrottles",
            table.metric_throttled_requests_for_operations(
                operations=TABLE_OPERATIONS, period=FIVE_MINUTES, statistic="Sum"
            ),
            threshold=1,
            description="The job table throttled requests",
        )
        self._alarm(
            "TableSystemErrors",
            table.metric_system_errors_for_operations(
                operations=TABLE_OPERATIONS, period=FIVE_MINUTES, statistic="Sum"
            ),
            threshold=1,
            description="The job table answered with system (HTTP 500) errors",
        )
        self._dashboard(state_machine, functions, api)

    def _api_alarms(self, api: apigateway.RestApi, access_logs: logs.ILogGroup) -> None:
        self._alarm(
            "Api5xx",
            api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The API answered with 5xx errors",
        )
        self._alarm(
            "ApiLatencyP99",
            api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
            threshold=API_LATENCY_P99_MS,
            evaluation_periods=3,
            description=f"The API's p99 latency stayed over {API_LATENCY_P99_MS} ms for 15 minutes",
        )
        # API Gateway publishes no throttle metric (a 429 only counts in 4XXError, with the caller's own
        # mistakes): the access log's status field tells them apart.
        throttled = logs.MetricFilter(
            self,
            "ApiThrottledFilter",
            log_group=access_logs,
            # The access log's JSON format writes the status as a string ("status":"$context.status").
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_namespace=METRICS_NAMESPACE,
            metric_name="ApiThrottled",
            metric_value="1",
        )
        self._alarm(
            "ApiThrottled",
            throttled.metric(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The API's stage throttling refused requests (HTTP 429)",
        )

    def _dashboard(
        self,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.Function],
        api: apigateway.RestApi,
    ) -> None:
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
                    _custom(m)
                    for m in ("JobsSubmitted", "JobsSucceeded", "JobsFailed", "JobsRejected", "Throttles")
                ],
            ),
            cloudwatch.GraphWidget(
                title="Polls and bytes copied", left=[_custom("Polls")], right=[_custom("BytesCopied")]
            ),
            cloudwatch.GraphWidget(
                title="API",
                left=[
                    api.metric_count(period=FIVE_MINUTES),
                    api.metric_client_error(period=FIVE_MINUTES),
                    api.metric_server_error(period=FIVE_MINUTES),
                ],
                right=[api.metric_latency(period=FIVE_MINUTES, statistic="p99")],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values())),
        )
        # The line, as the dispatcher measures it every minute (lipsync_core.jobs.steps.dispatch).
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="The line: jobs waiting, oldest wait (s)",
                left=[_gauge(m.LINE_LENGTH)],
                right=[_gauge(m.OLDEST_WAIT)],
            ),
            cloudwatch.GraphWidget(
                title="Service slots: held, utilisation (%)",
                left=[_gauge(m.SLOTS_HELD)],
                right=[_gauge(m.SLOT_UTILISATION)],
            ),
            cloudwatch.GraphWidget(title="Jobs admitted from the line", left=[_custom(m.ADMITTED)]),
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self.alarm_name_prefix}{name}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            alarm_description=description,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm


def _custom(metric: str, statistic: str = "Sum", period: int = 300) -> cloudwatch.MathExpression:
    """One of our Powertools metrics, summed over its dimensions."""
    search = f"SEARCH('{{{METRICS_NAMESPACE},service}} MetricName=\"{metric}\"', '{statistic}', {period})"
    return cloudwatch.MathExpression(expression=f"SUM({search})", label=metric)


def _gauge(metric: str) -> cloudwatch.MathExpression:
    """A level our functions measure once a minute (the line's length, say): its highest reading."""
    return _custom(metric, "Maximum", 60)
