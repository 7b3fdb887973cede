"""Delivers the stack's triggers to our handlers as AWS would.

moto's EventBridge rules do not invoke Lambda, and its S3-to-Lambda notifications swallow errors, so
each trigger in the template is mirrored by an SQS queue that moto *does* deliver to (a bus rule with
the template's own event pattern; a bucket notification with the template's own key filter), and a
dispatcher thread per queue hands each message to the function the template names, in the shape
AWS gives it. A message whose handler fails is retried, as Lambda retries an asynchronous invocation
(three tries in all), then goes where the function's on-failure destination says (an
``AWS::Lambda::EventInvokeConfig`` in the template: the failed-deliveries queue), as Lambda's
invocation record; without one it is dropped with an error logged. Schedules
run on a timer (scaled like the Wait states), and DynamoDB streams are read by ``streams``.

Each delivery is first judged against the function's resource policy (its ``AWS::Lambda::Permission``s,
``iam.invocations``), as Lambda judges EventBridge's and S3's invocations: a rule or schedule whose
target may not be invoked is not retried and its event goes to the target's dead-letter queue with
``ERROR_CODE`` ``NO_PERMISSIONS`` (EventBridge's documented behaviour), or is dropped without one; a
bucket notification to a function S3 may not invoke cannot even be configured (S3 answers
``InvalidArgument``, "Unable to validate the following destination configurations": the deploy fails),
so the runtime refuses to start.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import boto3

from .aws_events import failure_record, s3_object_created, scheduled_event
from .iam.invocations import EVENTS, S3, InvokePermissions
from .lambda_functions import FunctionRegistry
from .streams import StreamPoller, stream_mappings
from .template import ACCOUNT_ID, REGION, Template
from .usage import INTERNAL

logger = logging.getLogger(__name__)
MAX_RECEIVES = 3
# An idle queue is asked again after a pause that grows to IDLE_POLL_MAX_SECONDS: SQS long polling
# counts in whole seconds, and a 1 s long poll made every stop wait up to a second per dispatcher.
IDLE_POLL_MIN_SECONDS = 0.005
IDLE_POLL_MAX_SECONDS = 0.1


class UnauthorizedTriggerError(RuntimeError):
    """A trigger the template configures that AWS would refuse to configure."""


@dataclass(frozen=True)
class Source:
    """Who invokes a function, on behalf of what, and where an event it may not deliver goes."""

    principal: str  # the service: events.amazonaws.com, s3.amazonaws.com
    arn: str  # the rule or the bucket
    dead_letter_url: str | None = None  # the rule target's DeadLetterConfig queue


@dataclass(frozen=True)
class Route:
    queue_url: str
    function: str
    translate: Callable[[dict[str, Any]], dict[str, Any]]
    source: Source


def _s3_translate(message: dict[str, Any]) -> dict[str, Any]:
    """moto's S3 notification lacks fields AWS sends (and Powertools' model requires): rebuild it."""
    [record] = message["Records"]
    obj = record["s3"]["object"]
    return s3_object_created(
        record["s3"]["bucket"]["name"],
        unquote_plus(obj["key"]),
        size=obj["size"],
        etag=obj["eTag"],
        version_id=obj.get("versionId"),
    )


def _eventbridge_translate(message: dict[str, Any]) -> dict[str, Any]:
    """moto's rule targets receive the event without ``account``: AWS always sends it."""
    return {"account": ACCOUNT_ID, "version": "0", **message}


def _schedule_seconds(expression: str) -> float:
    """``rate(5 minutes)`` in seconds (the only form the stack uses)."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if not match:
        raise ValueError(f"the local runtime cannot run the schedule {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match[2].rstrip("s")]
    return int(match[1]) * unit


class TriggerDispatcher:
    def __init__(
        self,
        template: Template,
        registry: FunctionRegistry,
        time_scale: float = 1.0,
        permissions: InvokePermissions | None = None,
    ) -> None:
        self.template = template
        self.registry = registry
        self.time_scale = time_scale  # schedules run this much faster here, like the Wait states
        self.permissions = permissions or InvokePermissions.of(template)
        self.routes: list[Route] = []
        self.schedules: list[tuple[str, float, Source]] = []  # (function, period in seconds on AWS, source)
        self.delivered: list[tuple[str, bool]] = []  # (function, succeeded), for inspection
        self.on_failure: dict[str, str] = {}  # function -> the queue its failed invocations go to
        self.streams: list[StreamPoller] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _queue(self, name: str) -> tuple[str, str]:
        sqs = boto3.client("sqs", region_name=REGION, config=INTERNAL)
        url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return str(url), str(arn)

    def _function_name(self, arn_token: Any) -> str:
        return str(self.template.resolve(arn_token)).rsplit(":", 1)[-1]

    def mirror(self) -> None:
        """Create the mirrors of every rule and bucket notification that targets one of our functions."""
        events = boto3.client("events", region_name=REGION, config=INTERNAL)
        sqs = boto3.client("sqs", region_name=REGION, config=INTERNAL)
        for lid in self.template.of_type("AWS::Events::Rule"):
            props = self.template.resources[lid]["Properties"]
            rule_arn = str(self.template.resolve({"Fn::GetAtt": [lid, "Arn"]}))
            targets = [
                (self._function_name(t["Arn"]), self._dead_letter_url(sqs, t, rule_arn))
                for t in props.get("Targets", [])
            ]
            targets = [(f, source) for f, source in targets if f in self.registry]
            if not targets:
                continue
            if "ScheduleExpression" in props:
                period = _schedule_seconds(props["ScheduleExpression"])
                self.schedules += [(f, period, source) for f, source in targets]
                continue
            url, arn = self._queue(f"lipsync-local-rule-{lid}"[:80])
            bus = self.template.resolve(props.get("EventBusName", "default"))
            name = f"local-{lid}"[:64]
            pattern = json.dumps(self.template.resolve(props["EventPattern"]))
            events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "mirror", "Arn": arn}])
            self.routes += [Route(url, f, _eventbridge_translate, source) for f, source in targets]
        for lid in self.template.of_type("AWS::Lambda::EventInvokeConfig"):
            props = self.template.resources[lid]["Properties"]
            destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            if destination:
                queue = str(self.template.resolve(destination)).rsplit(":", 1)[-1]
                function = str(self.template.resolve(props["FunctionName"]))
                self.on_failure[function] = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        s3 = boto3.client("s3", region_name=REGION, config=INTERNAL)
        for lid in self.template.of_type("Custom::S3BucketNotifications"):
            props = self.template.resources[lid]["Properties"]
            bucket = self.template.resolve(props["BucketName"])
            queues = []
            for index, config in enumerate(
                props["NotificationConfiguration"].get("LambdaFunctionConfigurations", [])
            ):
                function = self._function_name(config["LambdaFunctionArn"])
                source = Source(S3, f"arn:aws:s3:::{bucket}")
                if not self.permissions.allows(function, S3, source.arn):
                    raise UnauthorizedTriggerError(
                        f"the notification of bucket {bucket} to {function} cannot be configured: "
                        "Unable to validate the following destination configurations (the function's "
                        "resource policy does not let s3.amazonaws.com invoke it)"
                    )
                url, arn = self._queue(f"lipsync-local-s3-{lid}-{index}"[:80])
                queues.append(
                    {
                        "QueueArn": arn,
                        "Events": config["Events"],
                        **({"Filter": config["Filter"]} if "Filter" in config else {}),
                    }
                )
                self.routes.append(Route(url, function, _s3_translate, source))
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queues}
            )
        self.streams = [
            StreamPoller(mapping, self.registry, self._stop)
            for mapping in stream_mappings(self.template, self.registry)
        ]

    def _dead_letter_url(self, sqs: Any, target: dict[str, Any], rule_arn: str) -> Source:
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        url = None
        if dead_letter:
            queue = str(self.template.resolve(dead_letter)).rsplit(":", 1)[-1]
            url = str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
        return Source(EVENTS, rule_arn, url)

    def _invocable(self, function: str, source: Source, event: dict[str, Any]) -> bool:
        """Whether ``source`` may invoke ``function``; if not, the event goes where EventBridge sends an
        event it may not deliver (S3 notifications never get here: they were refused when configured)."""
        if self.permissions.allows(function, source.principal, source.arn):
            return True
        logger.error("local trigger: %s may not invoke %s (no permission)", source.arn, function)
        self.delivered.append((function, False))
        if source.dead_letter_url is not None:
            boto3.client("sqs", region_name=REGION, config=INTERNAL).send_message(
                QueueUrl=source.dead_letter_url,
                MessageBody=json.dumps(event, default=str),
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in (
                        ("RULE_ARN", source.arn),
                        ("TARGET_ARN", f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}"),
                        ("ERROR_CODE", "NO_PERMISSIONS"),
                        ("ERROR_MESSAGE", f"no resource policy of {function} lets EventBridge invoke it"),
                    )
                },
            )
        return False

    def start(self) -> None:
        for poller in self.streams:
            thread = threading.Thread(
                target=poller.run, name=f"stream-{poller.mapping.function}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        for route in self.routes:
            thread = threading.Thread(
                target=self._drain, args=(route,), name=f"dispatch-{route.function}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        for function, period, source in self.schedules:
            if self.time_scale <= 0:
                continue  # waits are skipped entirely: a schedule would spin
            thread = threading.Thread(
                target=self._tick,
                args=(function, period * self.time_scale, source),
                name=f"schedule-{function}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _tick(self, function: str, period: float, source: Source) -> None:
        while not self._stop.wait(period):
            event = scheduled_event()
            if not self._invocable(function, source, event):
                continue
            try:
                self.registry.call(function, event)
            except Exception:
                logger.exception("local schedule: %s failed", function)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _drain(self, route: Route) -> None:
        sqs = boto3.client("sqs", region_name=REGION, config=INTERNAL)
        pause = IDLE_POLL_MIN_SECONDS
        while not self._stop.is_set():
            try:
                answer = sqs.receive_message(
                    QueueUrl=route.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    AttributeNames=["ApproximateReceiveCount"],
                )
            except Exception:  # the server is going away
                if self._stop.is_set():
                    return
                raise
            if not answer.get("Messages"):
                self._stop.wait(pause)
                pause = min(pause * 2, IDLE_POLL_MAX_SECONDS)
                continue
            pause = IDLE_POLL_MIN_SECONDS
            for message in answer.get("Messages", []):
                body = json.loads(message["Body"])
                if body.get("Event") == "s3:TestEvent":  # S3 sends one when notifications are configured
                    sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    continue
                event = route.translate(body)
                if not self._invocable(route.function, route.source, event):  # never retried
                    sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])
                    continue
                failure: Exception | None = None
                try:
                    self.registry.call(route.function, event)
                except Exception as error:
                    logger.exception("local trigger: %s failed", route.function)
                    failure = error
                self.delivered.append((route.function, failure is None))
                receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                if failure is not None and receives >= MAX_RECEIVES:
                    self._keep_failure(sqs, route.function, event, failure, receives)
                if failure is None or receives >= MAX_RECEIVES:
                    sqs.delete_message(QueueUrl=route.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _keep_failure(
        self, sqs: Any, function: str, event: dict[str, Any], error: Exception, tries: int
    ) -> None:
        """Retries exhausted: Lambda's invocation record to the function's on-failure destination."""
        queue = self.on_failure.get(function)
        if queue is not None:
            record = failure_record(function, event, error, tries)
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(record, default=str))
