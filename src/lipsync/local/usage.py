"""What the local stack asks of AWS, counted as moto receives it, in AWS's billing units where moto can
tell them: every request by service and operation, and DynamoDB's read and write units. With the
invocations the Lambda seam counts and the state transitions of the executions' histories, it is what
``make bench`` prices per job (``tools/aws_prices.py``).

The runtime's own requests (provisioning, the trigger mirrors, reading the streams, waiting for
events) are not the stack's: the runtime's clients say so in their user agent (``INTERNAL_AGENT``) and
are left out. DynamoDB units follow AWS's rules: a write costs one unit per KB of the larger of the
item before and after (a failed condition included) and, for each index the item is in, one per KB of
its projection that changed (two when its keys changed: a delete and a put); a read costs one unit per
4 KB read, half for an eventually consistent one. A count over an index is priced from the entries it
scanned at ``COUNTED_ENTRY_BYTES`` each.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from .lambda_functions import Invocations
from .moto_patches import Patch, parameters, source_contains

INTERNAL_AGENT = "lipsync-local-runtime"
INTERNAL = Config(user_agent_extra=INTERNAL_AGENT)  # the runtime's own clients
COUNTED_ENTRY_BYTES = 100  # a KEYS_ONLY index entry of ours, about
WRITES = ("PutItem", "UpdateItem", "DeleteItem")
READS = ("GetItem", "Query", "Scan")


@dataclass(frozen=True)
class Counted:
    """What the stack's code asked of AWS (moto's side): requests by (service, operation), DynamoDB units."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    dynamodb_write_units: float = 0.0
    dynamodb_read_units: float = 0.0

    def minus(self, earlier: Counted) -> Counted:
        return Counted(
            self.requests - earlier.requests,
            self.dynamodb_write_units - earlier.dynamodb_write_units,
            self.dynamodb_read_units - earlier.dynamodb_read_units,
        )

    def count(self, service: str, *operations: str) -> int:
        return sum(
            n for (s, op), n in self.requests.items() if s == service and (not operations or op in operations)
        )


class UsageMeter:
    """Counts as patches of moto (``patches()``, installed with the runtime's others)."""

    def __init__(self) -> None:
        self._requests: Counter[tuple[str, str]] = Counter()
        self._write_units = 0.0
        self._read_units = 0.0
        self._lock = threading.Lock()

    def counted(self) -> Counted:
        with self._lock:
            return Counted(Counter(self._requests), self._write_units, self._read_units)

    def patches(self) -> list[Patch]:
        """Install these before the runtime's DynamoDB lock (the unit count reads items under it)."""
        return [
            Patch(
                "moto.core.responses:BaseResponse",
                "setup_class",
                self._counting_requests,
                why="every request the stack makes is counted",
                expects=(parameters("self", "request", "full_url", "headers", "use_raw_body"),),
            ),
            Patch(
                "moto.dynamodb.responses:DynamoHandler",
                "call_action",
                self._counting_units,
                why="DynamoDB's read and write units are counted",
                expects=(
                    parameters("self"),
                    source_contains('self.body = getattr(self, "params", {})'),
                    source_contains("def get_item(", where="moto.dynamodb.models.table:Table"),
                    source_contains("def project(", where="moto.dynamodb.models.table:SecondaryIndex"),
                ),
            ),
        ]

    # -- requests -----------------------------------------------------------------------------------

    def _counting_requests(self, setup_class: Callable[..., None]) -> Callable[..., None]:
        meter = self

        def counted_setup(response: Any, request: Any, *args: Any, **kwargs: Any) -> None:
            setup_class(response, request, *args, **kwargs)
            if INTERNAL_AGENT in str(request.headers.get("User-Agent", "")) or not response.service_name:
                return
            key = (str(response.service_name), _operation(response))
            with meter._lock:
                meter._requests[key] += 1

        return counted_setup

    # -- DynamoDB units -----------------------------------------------------------------------------

    def _counting_units(self, call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
        meter = self

        def metered(handler: Any) -> Any:
            operation = handler._get_action()
            if operation not in WRITES + READS or INTERNAL_AGENT in str(
                handler.headers.get("User-Agent", "")
            ):
                return call_action(handler)
            params = getattr(handler, "params", {})
            before = _snapshot(handler, params) if operation in WRITES else None
            answer = call_action(handler)
            if operation in WRITES:
                units = _write_units(before, _snapshot(handler, params))
                with meter._lock:
                    meter._write_units += units
            else:
                units = _read_units(operation, params, answer)
                with meter._lock:
                    meter._read_units += units
            return answer

        return metered


def _operation(response: Any) -> str:
    target = response.headers.get("X-Amz-Target") or response.headers.get("x-amz-target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    action = response.querystring.get("Action")
    if action:
        return str(action[0] if isinstance(action, list) else action)
    try:  # REST services (S3, Lambda): botocore's routes, as moto reads them
        found = response._get_action_from_method_and_request_uri(response.normalized_request)
    except Exception:  # a route botocore does not know: the method says enough for prices
        found = None
    return str(found or response.method)


def _table(handler: Any, params: dict[str, Any]) -> Any:
    return handler.dynamodb_backend.get_table(params["TableName"])


@dataclass(frozen=True)
class _Snapshot:
    """What a write's units depend on, taken before and after it (moto changes items in place)."""

    kb: int  # the item's size, in whole KB
    indexes: dict[str, tuple[str, int, str]]  # index it is in -> (projection, KB, its keys' values)


def _snapshot(handler: Any, params: dict[str, Any]) -> _Snapshot | None:
    """The item a write names, as moto holds it now (None: there is none)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = _table(handler, params)
        key = params.get("Key") or {
            name: value for name, value in params.get("Item", {}).items() if name in table.table_key_attrs
        }
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
    except Exception:  # no such table or key: the action answers the error, and costs nothing
        return None
    if item is None:
        return None
    indexes = {}
    for index in table.global_indexes:
        if all(name in item.attrs for name in index.schema_key_attrs):
            projected = index.project(item)
            keys = json.dumps([item.attrs[name].to_json() for name in index.schema_key_attrs])
            indexes[index.name] = (json.dumps(projected.to_json(), sort_keys=True), _kb(projected), keys)
    return _Snapshot(_kb(item), indexes)


def _kb(item: Any) -> int:
    return max(1, math.ceil(int(item.size()) / 1024))


def _write_units(before: _Snapshot | None, after: _Snapshot | None) -> float:
    if before is None and after is None:
        return 1.0  # a failed condition on a missing item, or a delete of nothing: the minimum
    units = max(side.kb for side in (before, after) if side is not None)
    old_indexes = before.indexes if before else {}
    new_indexes = after.indexes if after else {}
    for name in set(old_indexes) | set(new_indexes):
        old, new = old_indexes.get(name), new_indexes.get(name)
        if old is not None and new is not None:
            if old[0] == new[0]:
                continue  # nothing the index holds changed
            units += old[1] + new[1] if old[2] != new[2] else new[1]  # new keys: a delete and a put
        else:
            units += (old or new or ("", 0, ""))[1]
    return float(units)


def _read_units(operation: str, params: dict[str, Any], answer: Any) -> float:
    from moto.dynamodb.models.dynamo_type import DynamoType

    body = json.loads(answer[2]) if isinstance(answer, tuple) and answer[2] else {}
    if params.get("Select") == "COUNT":
        read = int(body.get("ScannedCount", 0)) * COUNTED_ENTRY_BYTES
    else:
        items = body.get("Items", []) if operation != "GetItem" else [body["Item"]] if "Item" in body else []
        read = sum(DynamoType({"M": attrs}).size() for attrs in items)
    units = max(1, math.ceil(read / 4096))
    consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
    return units if consistent else units / 2


def transitions(history: list[dict[str, Any]]) -> int:
    """State transitions Step Functions bills for one execution's history: each state entered, and each
    retry of a task (a task scheduled again within the state it entered once)."""
    entered = sum(1 for event in history if event["type"].endswith("StateEntered"))
    tasks_entered = sum(1 for event in history if event["type"] == "TaskStateEntered")
    scheduled = sum(1 for event in history if event["type"] in ("LambdaFunctionScheduled", "TaskScheduled"))
    return entered + max(0, scheduled - tasks_entered)


@dataclass(frozen=True)
class LocalUsage:
    """Everything counted: moto's side, the functions' invocations, and the executions' transitions."""

    counted: Counted
    invocations: Invocations
    transitions: int
    executions: int
    history_events: int  # what the state machine's log (level ALL) writes an entry for
