"""A small HTTP server on 127.0.0.1 that answers scripted responses and checks each request's
V4 signature with its own code (not the project's signer), so a client test proves the signature
is right from what actually arrived on the wire."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float | threading.Event | None = None  # an Event: answer only once it is set
    drop_connection: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def verify_signature(
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    secret_access_key: str,
) -> bool:
    """Independent re-implementation of the Volcengine V4 check."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    try:
        _, rest = auth.split(" ", 1)
        parts = dict(item.strip().split("=", 1) for item in rest.split(","))
        _, date, region, service, _ = parts["Credential"].split("/")
        signed_names = parts["SignedHeaders"].split(";")
    except (ValueError, KeyError):
        return False
    if hashlib.sha256(body).hexdigest() != lower.get("x-content-sha256"):
        return False
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    header_lines = "".join(f"{name}:{lower.get(name, '').strip()}\n" for name in signed_names)
    canonical = "\n".join(
        [method, path, canonical_query, header_lines, ";".join(signed_names), lower["x-content-sha256"]]
    )
    scope = f"{date}/{region}/{service}/request"
    to_sign = "\n".join(
        ["HMAC-SHA256", lower.get("x-date", ""), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = secret_access_key.encode()
    for part in (date, region, service, "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


class ScriptedServer:
    def __init__(self, secret_access_key: str) -> None:
        self.secret_access_key = secret_access_key
        self.replies: queue.Queue[Reply | Callable[[Received], Reply]] = queue.Queue()
        self.received: list[Received] = []
        self.endpoint = ""

    def reply(self, *replies: Reply | Callable[[Received], Reply]) -> None:
        for item in replies:
            self.replies.put(item)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self.answer("GET")

            def do_POST(self) -> None:
                self.answer("POST")

            def answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                headers = dict(self.headers.items())
                received = Received(
                    method,
                    parts.path,
                    query,
                    headers,
                    body,
                    verify_signature(method, parts.path, query, headers, body, server.secret_access_key),
                )
                server.received.append(received)
                item = (
                    server.replies.get_nowait()
                    if not server.replies.empty()
                    else Reply(
                        body={"code": 10000, "message": "Success", "data": {}, "request_id": "default"}
                    )
                )
                reply = item(received) if callable(item) else item
                if isinstance(reply.delay, threading.Event):
                    reply.delay.wait(10)
                if reply.drop_connection:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (timeout tests)

        return Handler


@contextmanager
def scripted_server(secret_access_key: str) -> Iterator[ScriptedServer]:
    scripted = ScriptedServer(secret_access_key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), scripted.handler_class())
    httpd.daemon_threads = True
    scripted.endpoint = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        httpd.shutdown()
        httpd.server_close()
