"""Fault injection: rules that make the emulator misbehave on purpose, deterministically.

A rule names a fault and where it applies; ``count`` bounds how often it fires and ``rate`` is the
chance it fires on a matching request, drawn from a generator seeded at start, so a given seed and
request order always give the same faults. Rules come from ``--faults`` or the admin endpoint.

Spec syntax (``--faults``): rules separated by ``;``, each ``name[:key=value,...]``, e.g.
``throttle:rate=0.2;internal:count=2,action=CVGetResult;task_failed:code=50413``.

A service code answers as the service reports it: ``refuse:code=50214,action=CVSubmitTask`` refuses a
call (the input checks and input moderation, at submit), ``task_failed:code=60102`` ends a task without
a video (no face, output moderation); a code the emulator knows (``errors.REPORTED_CODES``) brings its
message and HTTP status.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

# Faults on an API call, before it reaches the service.
CALL_FAULTS = {"throttle", "concurrency", "internal", "refuse", "html_error", "reset", "slow"}
# Faults on a task, seen by CVGetResult.
TASK_FAULTS = {"task_failed", "expired", "not_found"}
# Faults on result downloads.
DOWNLOAD_FAULTS = {"truncate", "slow_download"}
ALL_FAULTS = CALL_FAULTS | TASK_FAULTS | DOWNLOAD_FAULTS
ACTIONS = {"CVSubmitTask", "CVGetResult", "CVCancelTask"}


class FaultSpecError(ValueError):
    pass


@dataclass
class FaultRule:
    fault: str
    action: str | None = None  # for call faults: one action, or every action when unset
    task_id: str | None = None  # for task and download faults: one task, or any when unset
    count: int | None = None  # fire at most this many times (None: unbounded)
    rate: float = 1.0  # chance of firing on a matching request
    code: int = 50413  # refuse, task_failed: the service code answered
    message: str | None = None  # refuse, task_failed: its message (default: the code's own)
    delay: float = 35.0  # slow / slow_download: seconds (slow_download: for the whole body)
    status: int = 502  # html_error: the HTTP status
    fired: int = 0

    def __post_init__(self) -> None:
        if self.fault not in ALL_FAULTS:
            raise FaultSpecError(f"unknown fault {self.fault!r}; known: {', '.join(sorted(ALL_FAULTS))}")
        if self.action is not None and self.action not in ACTIONS:
            raise FaultSpecError(f"unknown action {self.action!r}")
        if not 0.0 <= self.rate <= 1.0:
            raise FaultSpecError("rate must be between 0 and 1")
        if self.count is not None and self.count < 0:
            raise FaultSpecError("count must not be negative")

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELD_TYPES: dict[str, type] = {
    "action": str,
    "task_id": str,
    "count": int,
    "rate": float,
    "code": int,
    "message": str,
    "delay": float,
    "status": int,
}


def rule_from_dict(values: dict[str, Any]) -> FaultRule:
    unknown = set(values) - set(_FIELD_TYPES) - {"fault"}
    if unknown:
        raise FaultSpecError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    if "fault" not in values:
        raise FaultSpecError("a fault rule needs 'fault'")
    try:
        typed: dict[str, Any] = {
            k: (_FIELD_TYPES[k](v) if v is not None else None) for k, v in values.items() if k != "fault"
        }
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"bad fault field value: {exc}") from None
    return FaultRule(fault=str(values["fault"]), **typed)


def parse_fault_spec(spec: str) -> list[FaultRule]:
    rules = []
    for chunk in filter(None, (part.strip() for part in spec.split(";"))):
        name, _, params = chunk.partition(":")
        values: dict[str, Any] = {"fault": name.strip()}
        for item in filter(None, (p.strip() for p in params.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise FaultSpecError(f"expected key=value in {chunk!r}")
            values[key.strip()] = value.strip()
        rules.append(rule_from_dict(values))
    return rules


class FaultInjector:
    """Holds the rules and decides, under a lock, which one fires for a request."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 0) -> None:
        self._rules = list(rules or [])
        self._random = random.Random(seed)  # noqa: S311 - determinism, not security
        self._lock = threading.Lock()

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def pick(
        self, kinds: set[str], *, action: str | None = None, task_id: str | None = None
    ) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.fault not in kinds or rule.exhausted:
                    continue
                if rule.action is not None and rule.action != action:
                    continue
                if rule.task_id is not None and rule.task_id != task_id:
                    continue
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
        return None
