"""Serves the stack's REST API on 127.0.0.1: each HTTP request becomes an API Gateway proxy event for
the ``api`` handler, as API Gateway would send it (without IAM signatures: the local API is open)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .aws_events import api_gateway_proxy
from .seams import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class ApiServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        api_handler = handler

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else None
                event = api_gateway_proxy(
                    self.command,
                    parts.path,
                    body=body,
                    headers=dict(self.headers.items()),
                    query=dict(parse_qsl(parts.query)) or None,
                )
                answer = api_handler(event, LambdaContext(function_name="api"))
                payload = (answer.get("body") or "").encode("utf-8")
                self.send_response(int(answer.get("statusCode", 500)))
                for name, value in (answer.get("headers") or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

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
