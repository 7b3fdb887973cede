"""A client for the emulator's admin endpoints (``/_emulator/``): faults, clock, inspection."""

from __future__ import annotations

from typing import Any

import requests


class EmulatorAdmin:
    def __init__(self, endpoint: str, session: requests.Session | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.session.request(method, f"{self.endpoint}/_emulator/{path}", json=payload, timeout=10)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "health"))

    def add_faults(self, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        """Add fault rules, e.g. ``add_faults({"fault": "throttle", "count": 2})``."""
        return list(self._call("POST", "faults", list(rules)))

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def advance_clock(self, seconds: float) -> float:
        return float(self._call("POST", "clock", {"advance_seconds": seconds})["now"])

    def throttles(self) -> dict[str, Any]:
        """Throttled answers given so far: ``total`` and ``by_action`` ({action: {code: count}})."""
        return dict(self._call("GET", "throttles"))

    def submissions(self) -> dict[str, Any]:
        return dict(self._call("GET", "submissions"))

    def tasks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "tasks"))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"tasks/{task_id}"))
