"""Provides the authentication-failure throttle: too many failures from one address block it.

Kept in memory per node: it slows guessing from one source; a restart clears it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureThrottle:
    def __init__(
        self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _prune(self, source: str, now: float) -> deque[float]:
        q = self._failures.setdefault(source, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[source]
            return deque()
        return q

    def retry_after(self, source: str) -> float | None:
        """Seconds until `source` may try again, or None if it is not blocked."""
        now = self._clock()
        q = self._prune(source, now)
        if len(q) < self.max_failures:
            return None
        return max(0.0, q[-self.max_failures] + self.window - now)

    def record_failure(self, source: str) -> None:
        now = self._clock()
        self._prune(source, now)
        q = self._failures.setdefault(source, deque())
        q.append(now)
        # Bounded memory: only the newest max_failures timestamps decide anything.
        while len(q) > self.max_failures:
            q.popleft()
