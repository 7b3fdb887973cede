"""Serves the stack's REST API on 127.0.0.1: each HTTP request becomes an API Gateway proxy event for
the ``api`` handler, as API Gateway would send it (without IAM signatures: the local API is open).

Built on werkzeug (already here through moto) so that HTTP framing is a library's, not ours, and it
answers what API Gateway answers before a function runs: a JSON 400 for a Content-Length that is not
a number, a JSON 413 above API Gateway's 10 MB payload limit, a JSON 400 for a body that is not UTF-8
text, a JSON 502 when the function fails (its error, or an answer over Lambda's 6 MB), and a JSON 504
when it has not answered within API Gateway's 29 s integration timeout. A route the template defines
whose function's resource policy does not let API Gateway invoke it answers as API Gateway does: 500
"Internal server error", the log saying why (``invocable``). Answers carry ``headers`` and
``multiValueHeaders`` merged, with API Gateway's default ``Content-Type: application/json``."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .aws_events import api_gateway_proxy
from .deadlines import within
from .lambda_functions import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (method, url, headers, body) -> None to serve the request, or why it is refused (403): ``--auth iam``.
Authorizer = Callable[[str, str, dict[str, str], bytes | None], str | None]
# (method, path) -> whether API Gateway may invoke the function for it (its Lambda permission).
Invocable = Callable[[str, str], bool]
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INVALID_PERMISSIONS = "Execution failed due to configuration error: Invalid permissions on Lambda function"
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's REST integration timeout (default and maximum)
logger = logging.getLogger(__name__)


def _json(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


def proxy_answer(answer: dict[str, Any]) -> Response:
    """A Lambda proxy integration answer as the HTTP response API Gateway would send."""
    headers = Headers()
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values or ():
            headers.add(name, str(value))
    for name, value in (answer.get("headers") or {}).items():
        if name not in headers:  # Headers lookups ignore case
            headers.add(name, str(value))
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode("utf-8")
    return Response(data, status=int(answer.get("statusCode", 502)), headers=headers)


class ApiServer:
    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        authorizer: Authorizer | None = None,
        on_request: Callable[[str, str, int], None] | None = None,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        invocable: Invocable | None = None,
    ) -> None:
        self._handler = handler
        self._invocable = invocable
        self._integration_timeout = integration_timeout
        self._authorizer = authorizer
        self._on_request = on_request  # told of every answer: method, path, status
        self._server = make_server(host, port, self._wsgi, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._answer(request)
        if self._on_request is not None:
            self._on_request(request.method, request.path, response.status_code)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        declared = request.headers.get("Content-Length")
        if declared is not None and not (declared.isascii() and declared.isdigit()):
            return _json(400, "Content-Length must be a non-negative integer")
        request.max_content_length = MAX_BODY_BYTES
        try:
            data = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _json(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        if self._authorizer is not None:
            raw_uri = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
            url = f"http://{request.headers.get('Host', '')}{raw_uri}"
            try:
                refused = self._authorizer(request.method, url, dict(request.headers.items()), data or None)
            except Exception:  # a request the check cannot even read is refused, as API Gateway would
                logger.exception("the signature check failed")
                refused = "the request's signature could not be checked"
            if refused:
                return _json(403, refused)
        if self._invocable is not None and not self._invocable(request.method, request.path):
            logger.error(INVALID_PERMISSIONS)
            return _json(500, "Internal server error")
        try:
            body = data.decode("utf-8") if data else None
        except UnicodeDecodeError:
            return _json(400, "the body is not valid UTF-8 text")
        event = api_gateway_proxy(
            request.method,
            request.path,
            body=body,
            headers=dict(request.headers.items()),
            query=dict(request.args.items()) or None,
        )
        try:
            answer = within(
                self._integration_timeout, self._handler, event, LambdaContext(function_name="api")
            )
        except TimeoutError:  # the function goes on; the caller is told it timed out
            return _json(504, "Endpoint request timed out")
        except Exception:  # the function failed: API Gateway answers 502
            logger.exception("the api function failed")
            return _json(502, "Internal server error")
        return proxy_answer(answer)

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
