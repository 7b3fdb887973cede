"""Serves a folder over HTTP on 127.0.0.1, so local media has URLs a service can fetch, with single
byte ranges (``Range: bytes=first-last``), as a CDN answers them: the pipeline probes inputs by their
headers, in ranges."""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

_RANGE = re.compile(r"^bytes=(?P<first>\d*)-(?P<last>\d*)$")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        match = _RANGE.match(self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if match is None or not path.is_file() or not (match["first"] or match["last"]):
            return super().send_head()
        size = path.stat().st_size
        if match["first"]:
            first, last = int(match["first"]), min(int(match["last"] or size - 1), size - 1)
        else:  # a suffix: the last N bytes
            first, last = max(0, size - int(match["last"])), size - 1
        if first >= size or first > last:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        with path.open("rb") as source:
            source.seek(first)
            data = source.read(last - first + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(os.fspath(path)))
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(data)


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
