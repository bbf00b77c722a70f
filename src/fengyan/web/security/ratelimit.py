"""Per-client request budgets (login attempts, the public risk check).

A sliding one-minute window per key, kept in process memory: each ``fengyan serve`` worker
keeps its own budget, so a client whose requests reach N workers may get up to N times the
limit (docs/web.md, "Workers and what each keeps"; the account lock-out is in the database
and shared). Over budget answers 429 with ``Retry-After``, never an error page from deeper
down.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fengyan.web.errors import RateLimited

WINDOW_SECONDS = 60.0
# Forget idle clients once the table holds this many, so memory stays bounded.
MAX_KEYS = 50_000


class RateLimiter:
    """At most ``per_minute`` hits per key in any 60-second window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> bool:
        """Count one request for ``key``; False when it is over budget (not counted then)."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= MAX_KEYS:
                self._forget(moment)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= moment - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(moment)
            return True

    def check(self, key: str) -> None:
        """Count one request; raise :class:`RateLimited` when over budget."""
        if not self.hit(key):
            raise RateLimited(int(WINDOW_SECONDS))

    def reset(self) -> None:
        """Forget every client (tests, or an operator after an incident)."""
        with self._lock:
            self._hits.clear()

    def _forget(self, moment: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= moment - WINDOW_SECONDS]
        for key in stale:
            del self._hits[key]
