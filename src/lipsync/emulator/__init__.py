"""A faithful local twin of Volcengine's lip-sync API, producing real video.

>>> with Emulator(speed=50) as emulator:
...     client = emulator.client()           # a VolcClient pointed at it
...     emulator.admin.add_faults({"fault": "throttle", "count": 1})
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from lipsync_core.volc import VolcClient

from .admin import EmulatorAdmin
from .auth import Principal
from .clock import EmulatorClock
from .faults import FaultInjector, FaultRule, parse_fault_spec
from .server import EmulatorHTTPServer
from .service import LipSyncService, ServiceConfig

DEFAULT_ACCESS_KEY_ID = "AKLTemulator"
DEFAULT_SECRET_ACCESS_KEY = "emulator-secret-key"  # noqa: S105 - a local default, not a secret

__all__ = ["Emulator", "EmulatorAdmin", "FaultRule", "ServiceConfig", "parse_fault_spec"]


class Emulator:
    """Starts the emulator on ``host:port`` (0: a free port) in background threads."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
        session_token: str | None = None,
        speed: float = 1.0,
        faults: list[FaultRule] | None = None,
        seed: int = 0,
        config: ServiceConfig | None = None,
        work_dir: Path | None = None,
    ) -> None:
        self.principal = Principal(access_key_id, secret_access_key, session_token)
        self.service = LipSyncService(
            config=config,
            clock=EmulatorClock(speed),
            faults=FaultInjector(faults, seed=seed),
            work_dir=work_dir,
            seed=seed,
        )
        try:
            self._httpd = EmulatorHTTPServer((host, port), self.service, self.principal)
        except OSError:  # a busy port: no work directory left behind
            self.service.close()
            raise
        bound_host, bound_port = self._httpd.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown_host = f"[{host_text}]" if ":" in host_text else host_text
        self.endpoint = f"http://{shown_host}:{bound_port}"
        self.service.public_url = self.endpoint
        self.admin = EmulatorAdmin(self.endpoint)
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()
        self.service.close()

    def client(self, **kwargs: Any) -> VolcClient:
        """A ``VolcClient`` with this emulator's credentials and endpoint."""
        return VolcClient(
            self.principal.access_key_id,
            self.principal.secret_access_key,
            self.principal.session_token,
            endpoint=self.endpoint,
            **kwargs,
        )

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
