"""How the client waits without crowding the API: a few seconds between checks, growing to a cap, and
never sooner than the API asks (``Retry-After``). The stage serves 20 requests a second for everyone:
twenty clients polling every second would use all of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time

FIRST_SECONDS = 2.0
GROWTH = 1.5
MAX_SECONDS = 30.0


@dataclass
class Backoff:
    """Delays between checks: ``first``, then times ``growth``, at most ``cap``; ``Retry-After`` wins."""

    first: float = FIRST_SECONDS
    growth: float = GROWTH
    cap: float = MAX_SECONDS
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap or self.growth < 1:
            raise ValueError("waiting needs 0 < first <= cap and growth >= 1")
        self._next = self.first

    def delay(self, retry_after: float | None = None) -> float:
        """The next delay (and the one after grows), at least what the server asked for."""
        delay = self._next
        self._next = min(self.cap, self._next * self.growth)
        return max(delay, retry_after or 0.0)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date (None: absent or unreadable)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time() if now is None else now))
