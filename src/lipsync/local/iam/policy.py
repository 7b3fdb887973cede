"""IAM policy evaluation, as AWS documents it for one account: an explicit Deny in any applicable
policy wins; otherwise an Allow in the caller's identity policies or in the resource's policy allows;
otherwise the request is implicitly denied.

Written here rather than taken from moto (``moto/iam/access_control.py``), which treats a condition
operator it does not know as satisfied (so the stack's ``Deny`` on ``aws:SecureTransport: false``
would deny everything), turns an Allow whose condition fails into a Deny, and matches actions
case-sensitively. No maintained library on PyPI evaluates a request against policies (parliament,
cloudsplaining and policy_sentry lint or write them; iam-ape computes effective permissions offline).
Statements are compiled once per policy (patterns to regular expressions); an operator or element this
evaluator does not know fails the compilation, never the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny
    NEUTRAL = "neutral"  # nothing applies: denied unless another policy allows


class UnsupportedPolicyError(ValueError):
    pass


@lru_cache(maxsize=4096)
def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run, ``?`` one character) as an anchored regular expression."""
    return re.compile(_translate(text), 0 if case_sensitive else re.IGNORECASE)


def _translate(text: str) -> str:
    parts = []
    for char in text:
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return "(?s:" + "".join(parts) + r")\Z"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: list[str], value: str, *, case_sensitive: bool = True) -> bool:
    return any(_pattern(p, case_sensitive).match(value) for p in patterns)


# -- conditions ---------------------------------------------------------------------------------------

Context = Mapping[str, str | list[str]]


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_like(expected: str, actual: str) -> bool:
    return _pattern(expected, True).match(actual) is not None


def _bool(expected: str, actual: str) -> bool:
    return str(expected).lower() == str(actual).lower()


def _numeric(compare: Any) -> Any:
    def check(expected: str, actual: str) -> bool:
        try:
            return bool(compare(float(actual), float(expected)))
        except ValueError:
            return False

    return check


_OPERATORS: dict[str, Any] = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringLike": _string_like,
    "ArnEquals": _string_equals,
    "ArnLike": _string_like,
    "Bool": _bool,
    "NumericEquals": _numeric(lambda a, e: a == e),
    "NumericLessThan": _numeric(lambda a, e: a < e),
    "NumericLessThanEquals": _numeric(lambda a, e: a <= e),
    "NumericGreaterThan": _numeric(lambda a, e: a > e),
    "NumericGreaterThanEquals": _numeric(lambda a, e: a >= e),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, operator: str, key: str, values: Any) -> Condition:
        base = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:").removesuffix("IfExists")
        if base != "Null" and base not in _OPERATORS and base not in _NEGATED:
            raise UnsupportedPolicyError(f"condition operator {operator} is not supported locally")
        return cls(operator, key, tuple(str(v) for v in _as_list(values)))

    def holds(self, context: Context) -> bool:
        operator = self.operator
        present = self.key in context
        if operator == "Null":  # "true": the key must be absent
            return (not present) == (self.values[0].lower() == "true")
        if_exists = operator.endswith("IfExists")
        if not present:
            return if_exists or operator.startswith("ForAllValues:")
        actual = _as_list(context[self.key])
        base = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:").removesuffix("IfExists")
        negated = base in _NEGATED
        compare = _OPERATORS[_NEGATED.get(base, base)]

        def one(value: str) -> bool:
            hit = any(compare(expected, value) for expected in self.values)
            return not hit if negated else hit

        if operator.startswith("ForAllValues:"):
            return all(one(value) for value in actual)
        return any(one(value) for value in actual)


# -- statements and policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: tuple[str, ...] | None = None  # resource policies: AWS ARNs, "*", or "service:<name>"
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Statement:
        known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "Condition"}
        unknown = set(raw) - known
        if unknown:
            raise UnsupportedPolicyError(f"policy elements {sorted(unknown)} are not supported locally")
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicyError(f"effect {raw.get('Effect')!r}")
        conditions = tuple(
            Condition.parse(operator, key, values)
            for operator, block in (raw.get("Condition") or {}).items()
            for key, values in block.items()
        )
        return cls(
            effect=raw["Effect"],
            actions=tuple(str(a) for a in _as_list(raw.get("Action", []))),
            not_actions=tuple(str(a) for a in _as_list(raw.get("NotAction", []))),
            resources=tuple(str(r) for r in _as_list(raw.get("Resource", []))),
            not_resources=tuple(str(r) for r in _as_list(raw.get("NotResource", []))),
            principals=_principals(raw["Principal"]) if "Principal" in raw else None,
            conditions=conditions,
        )

    def applies(self, request: AuthRequest, *, resource: str, principal: str | None) -> bool:
        if self.actions and not _matches(list(self.actions), request.action, case_sensitive=False):
            return False
        if self.not_actions and _matches(list(self.not_actions), request.action, case_sensitive=False):
            return False
        if self.resources and not _matches(list(self.resources), resource):
            return False
        if self.not_resources and _matches(list(self.not_resources), resource):
            return False
        if self.principals is not None and not (
            principal is not None and ("*" in self.principals or principal in self.principals)
        ):
            return False
        return all(condition.holds(request.context) for condition in self.conditions)


def _principals(raw: Any) -> tuple[str, ...]:
    if raw == "*":
        return ("*",)
    found: list[str] = []
    for kind, values in dict(raw).items():
        for value in _as_list(values):
            found.append(str(value) if kind == "AWS" else f"{kind.lower()}:{value}")
    return tuple(found)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Policy:
        return cls(tuple(Statement.parse(s) for s in _as_list(document.get("Statement", []))))

    def decide(self, request: AuthRequest, *, resource: str, principal: str | None = None) -> Decision:
        decision = Decision.NEUTRAL
        for statement in self.statements:
            if statement.applies(request, resource=resource, principal=principal):
                if statement.effect == "Deny":
                    return Decision.DENY
                decision = Decision.ALLOW
        return decision


@dataclass(frozen=True)
class AuthRequest:
    """One IAM authorisation: an action on each of its resources, with the request's condition keys."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Principal:
    arn: str  # the role's ARN (what resource policies name)
    identity: tuple[Policy, ...]
    session_arn: str = ""  # arn:aws:sts::<account>:assumed-role/<role>/<session>, for messages


def evaluate(
    principal: Principal, request: AuthRequest, resource_policies: Mapping[str, Iterable[Policy]]
) -> tuple[bool, str]:
    """(allowed, why not) for every resource of ``request``; ``resource_policies`` by resource ARN prefix
    (a bucket's policy applies to the bucket and its objects)."""
    for resource in request.resources:
        attached = [p for prefix, ps in resource_policies.items() if _under(resource, prefix) for p in ps]
        identity = [p.decide(request, resource=resource) for p in principal.identity]
        on_resource = [p.decide(request, resource=resource, principal=principal.arn) for p in attached]
        if Decision.DENY in identity:
            return False, f"with an explicit deny in an identity-based policy on resource: {resource}"
        if Decision.DENY in on_resource:
            return False, f"with an explicit deny in a resource-based policy on resource: {resource}"
        if Decision.ALLOW not in identity and Decision.ALLOW not in on_resource:
            return False, (
                f"on resource: {resource} because no identity-based policy allows the {request.action} action"
            )
    return True, ""


def _under(resource: str, prefix: str) -> bool:
    return resource == prefix or resource.startswith(prefix + "/")
