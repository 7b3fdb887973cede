"""The HTTP API's resolver (Powertools, API Gateway REST): every answer JSON, every error mapped to its
status through one table, and a known path asked with another method a 405 with ``Allow``.

The routes live in ``functions/api/handler.py``; this module knows how the job domain's errors read
over HTTP. The 405s are routes of their own (for the methods a path lacks, out of the OpenAPI
document), so Powertools' own path matching decides what a known path is.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext

from lipsync_core.jobs.domain import errors as e
from lipsync_core.observability import logger

# Every error the API answers: its status and message (None: the error's own words, with its
# field-by-field ``errors`` where it has them). The first class of an error's MRO found here wins.
ERRORS: dict[type[Exception], tuple[HTTPStatus, str | None]] = {
    e.RequestRejectedError: (HTTPStatus.BAD_REQUEST, None),
    e.DocumentRejectedError: (HTTPStatus.BAD_REQUEST, None),
    e.DocumentTooLargeError: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, None),
    e.BadPageTokenError: (HTTPStatus.BAD_REQUEST, None),
    RequestValidationError: (HTTPStatus.BAD_REQUEST, "invalid request parameters"),
    e.JobConflictError: (HTTPStatus.CONFLICT, None),
    e.JobStateConflictError: (HTTPStatus.CONFLICT, None),
    e.JobNotFoundError: (HTTPStatus.NOT_FOUND, "no such job"),
    e.BatchNotFoundError: (HTTPStatus.NOT_FOUND, "no such batch"),
    NotFoundError: (HTTPStatus.NOT_FOUND, "no such resource"),  # no route for the path
    # Powertools parses the bodies of the routes it validates (POST /uploads) with json.loads:
    RecursionError: (HTTPStatus.BAD_REQUEST, None),
    UnicodeError: (HTTPStatus.BAD_REQUEST, None),
    Exception: (HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; retry later"),  # nothing of our insides
}
# Errors of a body that Powertools parsed, in the words our own body checks use.
BODY_ERRORS: dict[type[Exception], str] = {
    RecursionError: "is nested too deeply",
    UnicodeError: "is not valid UTF-8 text",
}
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def json_response(status: int, body: dict[str, Any], **headers: str) -> Response[dict[str, Any]]:
    return Response(status, content_types.APPLICATION_JSON, body, headers=headers)


def error_response(error: Exception) -> Response[dict[str, Any]]:
    kind = next(kind for kind in type(error).__mro__ if kind in ERRORS)
    status, message = ERRORS[kind]
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.exception("unhandled error")  # the log has the details
    if kind in BODY_ERRORS:
        error = e.DocumentRejectedError("(body)", BODY_ERRORS[kind])
    body: dict[str, Any] = {"message": message or str(error)}
    if isinstance(error, e.RequestRejectedError | e.DocumentRejectedError):
        body["errors"] = error.errors
    elif isinstance(error, RequestValidationError):
        body["errors"] = [
            {
                "field": ".".join(str(part) for part in item.get("loc", ())),
                "message": str(item.get("msg", "")),
            }
            for item in error.errors()
        ]
    return json_response(status, body)


class RestApi:
    """A resolver whose routes are registered through ``route``, so that it knows each path's methods."""

    def __init__(self) -> None:
        self.app = APIGatewayRestResolver(enable_validation=True)
        self.app.exception_handler(list(ERRORS))(error_response)
        self.methods: dict[str, list[str]] = {}  # path rule -> its methods
        self._sealed = False

    def route(self, method: str, rule: str, summary: str, **options: Any) -> Callable[..., Any]:
        if self._sealed:
            raise RuntimeError("routes are registered before the first request")
        self.methods.setdefault(rule, []).append(method)
        return self.app.route(rule, method=method, summary=summary, **options)

    def resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if not self._sealed:
            self._seal()
        return self.app.resolve(event, context)

    def _seal(self) -> None:
        """Each path's missing methods, answered 405 with the methods it has."""
        self._sealed = True
        for rule, methods in self.methods.items():
            others = [method for method in METHODS if method not in methods]
            self.app.route(rule, method=others, include_in_schema=False)(self._not_allowed(sorted(methods)))

    def _not_allowed(self, allowed: list[str]) -> Callable[[], Response[dict[str, Any]]]:
        def refuse() -> Response[dict[str, Any]]:
            method = self.app.current_event.http_method.upper()
            message = f"{method} is not allowed here; allowed: {', '.join(allowed)}"
            return json_response(
                HTTPStatus.METHOD_NOT_ALLOWED, {"message": message}, Allow=", ".join(allowed)
            )

        return refuse
