"""QPS and concurrency limits per ``req_key``, as the service enforces them."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class QpsLimiter:
    """At most ``qps`` calls in any one-second window per key (0 disables the limit)."""

    def __init__(self, qps: float = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        if self.qps <= 0:
            return True
        now = self._clock()
        with self._lock:
            window = self._calls.setdefault(key, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.qps:
                return False
            window.append(now)
            return True
