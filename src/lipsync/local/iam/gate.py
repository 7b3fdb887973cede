"""The local moto server's IAM: every request is authorised against its caller's policies before moto
sees it, and a denied one is answered as AWS answers it (S3: 403 ``AccessDenied`` in XML; JSON services:
``AccessDeniedException``; STS: ``AccessDenied``). A caller is known by its access key: each role's
sessions (minted through moto's STS, or assumed at run time), the Step Functions interpreter (moto signs
its task calls with the key ``ak``: the state machine's role). Any other key is the operator's.

Signatures are not checked (the callers are this process and the emulator); policies are.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .actions import AwsRequest, Incoming, read
from .policy import AuthRequest, Principal, evaluate
from .principals import StackPolicies

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
INTERPRETER_KEY = "ak"  # moto's Step Functions interpreter signs its task calls with this key
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
BODY_NEEDED = {"sts", "dynamodb", "stepfunctions", "events", "secretsmanager", "sqs", "logs", "monitoring"}


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    message: str


@dataclass
class IamGate:
    """Holds who is who and what they may do; ``wrap`` puts it in front of moto's WSGI app."""

    policies: StackPolicies | None = None
    secret_arn: Callable[[str], str] = str
    principals: dict[str, Principal] = field(default_factory=dict)  # by access key
    denials: list[Denial] = field(default_factory=list)
    _decisions: dict[tuple[Any, ...], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enforce(self, policies: StackPolicies, secret_arn: Callable[[str], str]) -> None:
        self.policies, self.secret_arn = policies, secret_arn
        for role in policies.state_machine_roles[:1]:
            self.register(INTERPRETER_KEY, role, "interpreter")

    def register(self, access_key: str, role_arn: str, session: str) -> None:
        assert self.policies is not None
        role = self.policies.roles[role_arn]
        account = role_arn.split(":")[4]
        with self._lock:
            self.principals[access_key] = Principal(
                arn=role_arn,
                identity=role.identity,
                session_arn=f"arn:aws:sts::{account}:assumed-role/{role.name}/{session}",
            )

    def wrap(self, app: Wsgi) -> Wsgi:
        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if self.policies is None:
                return app(environ, start_response)
            return self._gated(app, environ, start_response)

        return gated

    # -- one request -----------------------------------------------------------------------------

    def _gated(
        self, app: Wsgi, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        service = _service_of(environ)
        body = b""
        if service in BODY_NEEDED:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
        request = read(Incoming.from_environ(environ, body), self.secret_arn) if service else None
        principal = self.principals.get(request.access_key) if request else None
        if request is None or principal is None:
            return app(environ, start_response)  # unsigned (moto's own API) or the operator
        for authorisation in request.authorisations:
            refusal = self._refusal(principal, authorisation)
            if refusal:
                return self._deny(request, principal, authorisation, refusal, start_response)
        if request.operation == "AssumeRole":
            return self._learning_sessions(app, environ, start_response, request)
        if request.operation in ("GetObject", "HeadObject"):
            return self._missing_keys_hidden(app, environ, start_response, principal, request)
        return app(environ, start_response)

    def _refusal(self, principal: Principal, authorisation: AuthRequest) -> str:
        """Why ``principal`` may not (an empty string: it may), decided once per distinct request."""
        context = tuple(sorted((k, str(v)) for k, v in authorisation.context.items()))
        key = (principal.arn, authorisation.action, authorisation.resources, context)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        assert self.policies is not None
        allowed, why = evaluate(principal, authorisation, self.policies.resource_policies)
        if allowed and authorisation.action.lower() == "sts:assumerole":
            allowed, why = self._trusted(principal, authorisation.resources[0])
        refusal = "" if allowed else why
        self._decisions[key] = refusal
        return refusal

    def _trusted(self, principal: Principal, role_arn: str) -> tuple[bool, str]:
        assert self.policies is not None
        role = self.policies.roles.get(role_arn)
        if role is None:
            return False, f"on resource: {role_arn} because the role does not exist"
        trust = AuthRequest("sts:AssumeRole", (role_arn,), {})
        if role.trust.decide(trust, resource=role_arn, principal=principal.arn).value == "allow":
            return True, ""
        return False, f"on resource: {role_arn} because its trust policy does not allow {principal.arn}"

    def _deny(
        self,
        request: AwsRequest,
        principal: Principal,
        authorisation: AuthRequest,
        refusal: str,
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        message = (
            f"User: {principal.session_arn} is not authorized to perform: {authorisation.action} {refusal}"
        )
        with self._lock:
            self.denials.append(
                Denial(principal.arn, authorisation.action, authorisation.resources[0], message)
            )
        status, headers, body = denied_answer(request.protocol, message)
        start_response(status, headers)
        return [] if request.operation == "HeadObject" else [body]

    def _learning_sessions(
        self, app: Wsgi, environ: dict[str, Any], start_response: Callable[..., Any], request: AwsRequest
    ) -> Iterable[bytes]:
        """Pass an allowed AssumeRole on, and remember the new session's key as the role."""
        answer = b"".join(app(environ, start_response))
        match = _ACCESS_KEY.search(answer)
        if match:
            role_arn = request.authorisations[0].resources[0]
            self.register(match.group(1).decode(), role_arn, "assumed")
        return [answer]

    def _missing_keys_hidden(
        self,
        app: Wsgi,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        principal: Principal,
        request: AwsRequest,
    ) -> Iterable[bytes]:
        """S3 answers a missing key with 404 only to a caller who may list the bucket; others get 403."""
        held: list[Any] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            held[:] = [status, headers]
            return lambda _: None

        answer = app(environ, hold)
        if not held[0].startswith("404"):
            start_response(*held)
            return answer
        bucket = request.authorisations[0].resources[0].split(":::", 1)[1].split("/", 1)[0]
        listing = AuthRequest("s3:ListBucket", (f"arn:aws:s3:::{bucket}",), request.authorisations[0].context)
        if not self._refusal(principal, listing):
            start_response(*held)
            return answer
        _close(answer)
        asked = request.authorisations[0]
        hidden = (
            f"on resource: {asked.resources[0]} (no such key, and without s3:ListBucket S3 does not say so)"
        )
        return self._deny(
            request, principal, asked, self._refusal(principal, asked) or hidden, start_response
        )


def _service_of(environ: dict[str, Any]) -> str:
    text = str(environ.get("HTTP_AUTHORIZATION", "")) or str(environ.get("QUERY_STRING", ""))
    match = re.search(r"Credential=[^/,&\s]+(?:/|%2F)\d{8}(?:/|%2F)[^/%]+(?:/|%2F)([a-z0-9-]+)", text)
    return match.group(1) if match else ""


def _close(answer: Iterable[bytes]) -> None:
    close = getattr(answer, "close", None)
    if close is not None:
        close()


def denied_answer(protocol: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's answer to a denied request, for the protocol of the service that refused it."""
    request_id = uuid.uuid4().hex
    if protocol == "rest-xml":  # S3
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{_xml(message)}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body
    if protocol == "query":  # STS
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{_xml(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    status = "403 Forbidden" if protocol == "rest-json" else "400 Bad Request"  # Lambda's is a 403
    body = json.dumps({"__type": "AccessDeniedException", "message": message, "Message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-ErrorType", "AccessDeniedException"),
        ("x-amzn-RequestId", request_id),
    ]
    return status, headers, body


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
