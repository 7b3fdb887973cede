"""Serves the stack's REST API on 127.0.0.1: each HTTP request becomes an API Gateway proxy event for
the ``api`` handler, as API Gateway would send it (without IAM signatures: the local API is open)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .aws_events import api_gateway_proxy
from .seams import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# (method, url, headers, body) -> None to serve the request, or why it is refused (403): ``--auth iam``.
Authorizer = Callable[[str, str, dict[str, str], bytes | None], str | None]


class ApiServer:
    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        authorizer: Authorizer | None = None,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        api_handler = handler

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else None
                refused = authorizer and authorizer(
                    self.command, f"http://{self.headers.get('Host')}{self.path}", dict(self.headers), raw
                )
                if refused:
                    answer = {
                        "statusCode": 403,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.dumps({"message": refused}),
                    }
                    self._answer(answer, parts.path)
                    return
                body = raw.decode("utf-8") if raw else None
                event = api_gateway_proxy(
                    self.command,
                    parts.path,
                    body=body,
                    headers=dict(self.headers.items()),
                    query=dict(parse_qsl(parts.query)) or None,
                )
                self._answer(api_handler(event, LambdaContext(function_name="api")), parts.path)

            def _answer(self, answer: dict[str, Any], path: str) -> None:
                payload = (answer.get("body") or "").encode("utf-8")
                self.send_response(int(answer.get("statusCode", 500)))
                for name, value in (answer.get("headers") or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if on_request is not None:
                    on_request(self.command, path, int(answer.get("statusCode", 500)))

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's naming

        self._httpd = ThreadingHTTPServer((host, port), RequestHandler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
