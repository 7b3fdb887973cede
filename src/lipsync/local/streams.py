"""DynamoDB streams delivered to our functions as Lambda's event source mappings do on AWS: after the
write (never inside it), in batches, at least once, with the mapping's filter criteria applied.

moto records a table's stream (``StreamShard.add``) and would hand it to a mapped function inside the
very write that made it, where a handler's own DynamoDB calls wait for the write to end. Here a thread
per mapping reads the stream through the DynamoDB Streams API from its end (``LATEST``, as the stack's
mappings start), keeps the records that match a filter (moto's EventBridge pattern matcher: filter
criteria are EventBridge patterns), and calls the function with them in AWS's shape; a failed batch
is tried again ``MaximumRetryAttempts`` times, as Lambda does, then skipped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from .lambda_functions import FunctionRegistry
from .template import REGION, Template
from .usage import INTERNAL

logger = logging.getLogger(__name__)
IDLE_POLL_MIN_SECONDS = 0.005  # as the SQS dispatchers: AWS polls a shard four times a second
IDLE_POLL_MAX_SECONDS = 0.02  # a slot released is handed on within this, at most


@dataclass(frozen=True)
class StreamMapping:
    stream_arn: str
    function: str
    patterns: tuple[Any, ...]  # moto EventPatterns; any one matching keeps a record (none: all kept)
    batch_size: int
    retries: int

    def keeps(self, record: dict[str, Any]) -> bool:
        return not self.patterns or any(pattern.matches_event(record) for pattern in self.patterns)


def stream_mappings(template: Template, registry: FunctionRegistry) -> list[StreamMapping]:
    """The template's event source mappings from a table's stream to one of our functions."""
    from moto.events.models import EventPattern

    dynamodb = boto3.client("dynamodb", region_name=REGION, config=INTERNAL)
    found = []
    for lid in template.of_type("AWS::Lambda::EventSourceMapping"):
        props = template.resources[lid]["Properties"]
        source = props["EventSourceArn"].get("Fn::GetAtt", [None, None])
        function = str(template.resolve(props["FunctionName"]))
        if source[1] != "StreamArn" or function not in registry:
            continue
        table = template.physical[source[0]].name
        stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        filters = props.get("FilterCriteria", {}).get("Filters", [])
        found.append(
            StreamMapping(
                stream_arn=stream_arn,
                function=function,
                patterns=tuple(EventPattern.load(f["Pattern"]) for f in filters),
                batch_size=int(props.get("BatchSize", 100)),
                retries=int(props.get("MaximumRetryAttempts", -1)),
            )
        )
    return found


def _aws_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as Lambda hands it over (botocore turned the creation time into a datetime)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


class StreamPoller:
    """One mapping's reader: a thread from ``start`` until ``stop`` is set."""

    def __init__(self, mapping: StreamMapping, registry: FunctionRegistry, stop: threading.Event) -> None:
        self.mapping, self.registry, self._stop = mapping, registry, stop
        self.client = boto3.client("dynamodbstreams", region_name=REGION, config=INTERNAL)
        shard = self.client.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"][0]
        self._iterator = self.client.get_shard_iterator(  # from now on: records written from here
            StreamArn=mapping.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        self.delivered = 0  # batches handed to the function

    def run(self) -> None:
        pause = IDLE_POLL_MIN_SECONDS
        while not self._stop.is_set():
            try:
                answer = self.client.get_records(ShardIterator=self._iterator, Limit=self.mapping.batch_size)
            except Exception:  # the server is going away
                if self._stop.is_set():
                    return
                raise
            self._iterator = answer["NextShardIterator"]
            records = [_aws_record(r, self.mapping.stream_arn) for r in answer.get("Records", [])]
            kept = [record for record in records if self.mapping.keeps(record)]
            if kept:
                self._deliver(kept)
            if records:
                pause = IDLE_POLL_MIN_SECONDS
                continue
            self._stop.wait(pause)
            pause = min(pause * 2, IDLE_POLL_MAX_SECONDS)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        tries = 1 + (self.mapping.retries if self.mapping.retries >= 0 else 2)
        for _ in range(tries):
            try:
                self.registry.call(self.mapping.function, {"Records": records})
                self.delivered += 1
                return
            except Exception:
                logger.exception("local stream: %s failed", self.mapping.function)
        logger.error("local stream: a batch for %s was dropped after its retries", self.mapping.function)
