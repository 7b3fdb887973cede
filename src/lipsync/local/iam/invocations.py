"""Who may invoke each function: its resource policy, as Lambda builds it from the template's
``AWS::Lambda::Permission`` resources (one Allow statement each: the service principal, the action, the
function, and the conditions ``AWS:SourceArn`` (ArnLike) and ``AWS:SourceAccount``), judged by the same
evaluator as the roles' policies. The local runtime delivers API requests, rule deliveries, schedules and
bucket notifications to our handlers itself; each asks here first, as each AWS service is refused by
Lambda without the permission."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..template import ACCOUNT_ID, REGION, Template
from .policy import AuthRequest, Decision, Policy

INVOKE = "lambda:InvokeFunction"
API_GATEWAY = "apigateway.amazonaws.com"
EVENTS = "events.amazonaws.com"
S3 = "s3.amazonaws.com"


def _function_name(value: Any) -> str:
    """A function's name from its ARN, name or partial ARN (what ``FunctionName`` may hold)."""
    return str(value).split(":function:", 1)[-1].split(":", 1)[0]


def _statement(template: Template, props: Mapping[str, Any]) -> dict[str, Any]:
    conditions: dict[str, dict[str, str]] = {}
    if "SourceArn" in props:
        conditions["ArnLike"] = {"AWS:SourceArn": str(template.resolve(props["SourceArn"]))}
    if "SourceAccount" in props:
        conditions["StringEquals"] = {"AWS:SourceAccount": str(template.resolve(props["SourceAccount"]))}
    principal = str(template.resolve(props["Principal"]))
    return {
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": str(template.resolve(props["Action"])),
        "Resource": "*",  # the function it is attached to
        **({"Condition": conditions} if conditions else {}),
    }


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]  # the resource path, a ``{parameter}`` standing for one segment


@dataclass
class InvokePermissions:
    policies: dict[str, Policy] = field(default_factory=dict)  # function name -> its resource policy
    api_arn: str = ""  # arn:aws:execute-api:<region>:<account>:<api id>/<stage>
    routes: tuple[Route, ...] = ()

    @classmethod
    def of(cls, template: Template) -> InvokePermissions:
        statements: dict[str, list[dict[str, Any]]] = {}
        for lid in template.of_type("AWS::Lambda::Permission"):
            props = template.resources[lid]["Properties"]
            function = _function_name(template.resolve(props["FunctionName"]))
            statements.setdefault(function, []).append(_statement(template, props))
        apis = template.of_type("AWS::ApiGateway::RestApi")
        stages = template.of_type("AWS::ApiGateway::Stage")
        api_arn = ""
        if len(apis) == 1 and len(stages) == 1:
            api, stage = template.resolve({"Ref": apis[0]}), template.resolve({"Ref": stages[0]})
            api_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api}/{stage}"
        return cls(
            {name: Policy.parse({"Statement": found}) for name, found in statements.items()},
            api_arn,
            _routes(template),
        )

    def allows(self, function: str, principal: str, source_arn: str) -> bool:
        """Whether ``principal`` (a service) invoking ``function`` on behalf of ``source_arn`` (a rule, a
        bucket, an API method) in this account is allowed by the function's resource policy."""
        policy = self.policies.get(function)
        if policy is None:
            return False
        context = {"AWS:SourceArn": source_arn, "AWS:SourceAccount": ACCOUNT_ID}
        request = AuthRequest(INVOKE, ("*",), context)
        return policy.decide(request, resource="*", principal=f"service:{principal}") == Decision.ALLOW

    def api_source(self, method: str, path: str) -> str | None:
        """The source ARN API Gateway invokes with for a request to a route the template defines (None:
        no such route)."""
        if not any(route.method == method and route.pattern.fullmatch(path) for route in self.routes):
            return None
        return f"{self.api_arn}/{method}{path}"

    def api_may_invoke(self, function: str) -> Callable[[str, str], bool]:
        """For the API server: whether API Gateway may invoke ``function`` for a request (method, path).
        A path the template does not route is left to the function (the local API is its proxy)."""

        def may_invoke(method: str, path: str) -> bool:
            source = self.api_source(method, path)
            return source is None or self.allows(function, API_GATEWAY, source)

        return may_invoke


def _routes(template: Template) -> tuple[Route, ...]:
    """Each ``AWS::ApiGateway::Method`` of the template with its resource's path."""
    parents: dict[str, tuple[str | None, str]] = {}  # resource -> (its parent resource, its part)
    for lid in template.of_type("AWS::ApiGateway::Resource"):
        props = template.resources[lid]["Properties"]
        parent = props["ParentId"].get("Ref") if isinstance(props["ParentId"], dict) else None
        parents[lid] = (parent, str(props["PathPart"]))

    def path(resource: str | None) -> str:
        if resource is None or resource not in parents:
            return ""  # the root resource
        parent, part = parents[resource]
        return f"{path(parent)}/{part}"

    routes = []
    for lid in template.of_type("AWS::ApiGateway::Method"):
        props = template.resources[lid]["Properties"]
        resource = props["ResourceId"].get("Ref") if isinstance(props["ResourceId"], dict) else None
        template_path = path(resource) or "/"
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template_path))
        routes.append(Route(str(props["HttpMethod"]), re.compile(pattern)))
    return tuple(routes)
