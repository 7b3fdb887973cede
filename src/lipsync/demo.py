"""``lipsync demo``: what runs end to end today, and a plain word on what is not wired yet."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rich.console import Console

from lipsync_core.volc import VolcClient
from lipsync_core.volc.signer import (
    canonical_request,
    compute_signature,
    credential_scope,
    derive_signing_key,
    parse_authorization,
    string_to_sign,
)

_AK, _SK = "AKLTdemo", "demo-secret"


class _VerifyingHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = parse_authorization(self.headers["Authorization"])
        headers = {name: self.headers.get(name, "") for name in auth.signed_headers}
        path, _, raw_query = self.path.partition("?")
        query = dict(item.split("=", 1) for item in raw_query.split("&") if item)
        canonical, _ = canonical_request("POST", path, query, headers, self.headers["X-Content-Sha256"])
        scope = credential_scope(self.headers["X-Date"], auth.region, auth.service)
        key = derive_signing_key(_SK, auth.date, auth.region, auth.service).k_signing
        valid = (
            compute_signature(key, string_to_sign(self.headers["X-Date"], scope, canonical)) == auth.signature
        )
        payload = (
            b'{"code":10000,"message":"Success","data":{"task_id":"7392616336519610409"},"request_id":"demo"}'
            if valid
            else b'{"ResponseMetadata":{"RequestId":"demo","Error":{"Code":"SignatureDoesNotMatch"}}}'
        )
        self.send_response(200 if valid else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def run_demo() -> int:
    console = Console()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VerifyingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = VolcClient(_AK, _SK, endpoint=f"http://127.0.0.1:{server.server_address[1]}")
        result = client.submit_task(
            "lite", "https://example.com/in.mp4", "https://example.com/voice.wav", {"align_audio": True}
        )
    finally:
        server.shutdown()
    console.print(f"[green]signed CVSubmitTask accepted[/] by a verifying server: task {result.task_id}")
    console.print(
        "[yellow]not wired yet:[/] the Volcengine emulator, the AWS workflow and the local runtime "
        "(issues 3 to 6); this demo only proves a signed round trip."
    )
    return 0
