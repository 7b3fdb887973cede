"""Serves a folder over HTTP on 127.0.0.1, so local media has URLs a service can fetch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(root: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Yields the base URL; ``f"{base}/{quote(name)}"`` fetches ``root / name``."""
    handler = partial(_QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer((host, 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def url_for(base: str, name: str) -> str:
    return f"{base}/{quote(name)}"
