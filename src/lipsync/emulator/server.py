"""HTTP for the emulator: the API at ``POST /?Action=..&Version=..``, results and the admin
endpoints under ``/_emulator/``. Routing and envelopes only; behaviour lives in ``service.py``."""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import errors
from .auth import Principal, verify_request
from .faults import CALL_FAULTS, DOWNLOAD_FAULTS, FaultSpecError, rule_from_dict
from .service import LipSyncService

API_VERSION = "2022-08-31"
CANCEL_VERSION = "2024-06-06"
ROUTES: dict[tuple[str, str], str] = {
    ("CVSubmitTask", API_VERSION): "submit",
    ("CVGetResult", API_VERSION): "get_result",
    ("CVCancelTask", CANCEL_VERSION): "cancel",
}
MAX_BODY_BYTES = 1024 * 1024
_RESULT_PATH = re.compile(r"^/_emulator/results/(\d+)\.mp4$")
_TASK_PATH = re.compile(r"^/_emulator/tasks/(\d+)$")
logger = logging.getLogger(__name__)


def new_request_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # hundreds of jobs poll at once

    def __init__(self, address: tuple[str, int], service: LipSyncService, principal: Principal) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.service = service
        self.principal = principal
        self.stopping = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, resets) are normal here; anything else is logged."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError | OSError):
            return
        logger.exception("emulator: error while serving %s", client_address)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server: EmulatorHTTPServer
    server_version = "lipsync-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reset_connection(self) -> None:
        """Close with a TCP RST, as a crashed load balancer would."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    # -- verbs -----------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self._api()
        elif path.startswith("/_emulator/"):
            self._admin("POST", path)
        else:
            self._send_json(404, {"message": "not found"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        match = _RESULT_PATH.match(parts.path)
        if match:
            self._result(match.group(1), dict(parse_qsl(parts.query)))
        elif parts.path.startswith("/_emulator/"):
            self._admin("GET", parts.path)
        else:
            self._send_json(404, {"message": "not found"})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_DELETE(self) -> None:
        self._admin("DELETE", urlsplit(self.path).path)

    # -- the API ---------------------------------------------------------------------------------

    def _api(self) -> None:
        started = time.monotonic()
        service = self.server.service
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        action, version = query.get("Action", ""), query.get("Version", "")
        self._action = action
        request_id = new_request_id()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._envelope_error(errors.body_size_limited(f"{length} bytes"), request_id, started)
            return
        body = self._read_body()

        rule = service.faults.pick(CALL_FAULTS, action=action)
        if rule is not None:
            if rule.fault == "reset":
                self._reset_connection()
                return
            if rule.fault == "slow":
                self.server.stopping.wait(rule.delay)
            elif rule.fault == "html_error":
                self._send(rule.status, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                return
            else:
                fault_error = (
                    errors.reported(rule.code, rule.message)
                    if rule.fault == "refuse"
                    else {
                        "throttle": errors.qps_limited,
                        "concurrency": errors.concurrency_limited,
                        "internal": errors.internal_error,
                    }[rule.fault]()
                )
                self._envelope_error(fault_error, request_id, started)
                return

        handler_name = ROUTES.get((action, version))
        try:
            if handler_name is None:
                raise errors.invalid_action_or_version(action, version)
            verify_request(
                method="POST",
                path=parts.path,
                query=query,
                headers=dict(self.headers.items()),
                body=body,
                principal=self.server.principal,
            )
        except errors.GatewayError as exc:
            self._send_json(exc.http_status, exc.envelope(request_id, action, version))
            return

        try:
            try:
                payload = json.loads(body)
            except ValueError:
                raise errors.parse_args("the body is not valid JSON") from None
            if not isinstance(payload, dict):
                raise errors.parse_args("the body must be a JSON object")
            code, message, data = self._dispatch(handler_name, payload)
        except errors.ServiceError as exc:
            self._envelope_error(exc, request_id, started)
            return
        except Exception:  # a bug here must still answer as the service would: 50500
            logger.exception("emulator: unhandled error in %s", action)
            self._envelope_error(errors.internal_error(), request_id, started)
            return
        envelope: dict[str, Any] = {
            "code": code,
            "message": message,
            "data": data,
            "request_id": request_id,
            "time_elapsed": _elapsed(started),
        }
        if code != 10000:
            envelope["status"] = code
        self._send_json(200, envelope)

    def _dispatch(self, handler_name: str, payload: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None]:
        service = self.server.service
        if handler_name == "submit":
            return 10000, "Success", service.submit(payload)
        if handler_name == "get_result":
            return service.get_result(payload)
        service.cancel(payload)
        return 10000, "Success", None

    def _envelope_error(self, error: errors.ServiceError, request_id: str, started: float) -> None:
        self.server.service.count_answer(getattr(self, "_action", ""), error.code)
        self._send_json(
            error.http_status,
            {
                "code": error.code,
                "message": error.message,
                "data": None,
                "request_id": request_id,
                "status": error.code,
                "time_elapsed": _elapsed(started),
            },
        )

    # -- results ---------------------------------------------------------------------------------

    def _result(self, task_id: str, params: dict[str, str]) -> None:
        service = self.server.service
        path = service.result_file(task_id, params.get("expires", ""), params.get("sig", ""))
        if path is None:
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b"<Message>Request has expired or the signature is invalid</Message></Error>"
            )
            self._send(403, body, "application/xml")
            return
        data = path.read_bytes()
        rule = service.faults.pick(DOWNLOAD_FAULTS, task_id=task_id)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if rule is not None and rule.fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._reset_connection()
            return
        chunks = 20 if rule is not None else 1
        step = max(1, -(-len(data) // chunks))
        for offset in range(0, len(data), step):
            if rule is not None and self.server.stopping.wait(rule.delay / chunks):
                return
            self.wfile.write(data[offset : offset + step])

    # -- admin -----------------------------------------------------------------------------------

    def _admin(self, method: str, path: str) -> None:
        service = self.server.service
        routes: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "/_emulator/health"): lambda: {"ok": True, "now": service.clock.now()},
            ("GET", "/_emulator/tasks"): service.tasks,
            ("GET", "/_emulator/submissions"): service.submissions,
            ("GET", "/_emulator/throttles"): service.throttles,
            ("GET", "/_emulator/faults"): service.faults.rules,
            ("DELETE", "/_emulator/faults"): self._clear_faults,
            ("POST", "/_emulator/faults"): self._add_faults,
            ("POST", "/_emulator/clock"): self._advance_clock,
        }
        try:
            route = routes.get((method, path))
            if route is not None:
                self._send_json(200, route())
                return
            match = _TASK_PATH.match(path)
            task = service.task(match.group(1)) if match and method == "GET" else None
            if task is None:
                self._send_json(404, {"message": f"no admin route {method} {path}"})
            else:
                self._send_json(200, task)
        except (FaultSpecError, ValueError, TypeError) as exc:
            self._send_json(400, {"message": str(exc)})

    def _json_body(self) -> Any:
        return json.loads(self._read_body() or b"{}")

    def _add_faults(self) -> Any:
        payload = self._json_body()
        rules = [rule_from_dict(item) for item in (payload if isinstance(payload, list) else [payload])]
        self.server.service.faults.add(rules)
        return self.server.service.faults.rules()

    def _clear_faults(self) -> Any:
        self.server.service.faults.clear()
        return {"cleared": True}

    def _advance_clock(self) -> Any:
        seconds = float(self._json_body().get("advance_seconds", 0))
        return {"now": self.server.service.clock.advance(seconds)}


def _elapsed(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.2f}ms"
