"""In-memory test doubles of the usage store and guard (igpub.instagram.usage), for unit tests."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from igpub.instagram.usage import Decision, StoreUsageGuard

Clock = Callable[[], float]


class InMemoryUsageStore:
    """Exact rolling hour (a deque of call times per account). One process only: tests and local tools."""

    WINDOW_S = 3600.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self.last_pct: dict[str, float] = {}

    def acquire(self, account_id: str, *, now: float, budget: int) -> Decision:
        with self._lock:
            until = self._blocked_until.get(account_id, 0.0)
            if until > now:
                return Decision(False, "usage", until - now)
            calls = self._calls.setdefault(account_id, deque())
            while calls and calls[0] <= now - self.WINDOW_S:
                calls.popleft()
            if len(calls) >= budget:
                oldest = calls[len(calls) - budget] if budget > 0 else now
                return Decision(False, "budget", oldest + self.WINDOW_S - now)
            calls.append(now)
            return Decision(True)

    def block(self, account_id: str, *, now: float, until: float, pct: float) -> None:
        with self._lock:
            self.last_pct[account_id] = pct
            if until > self._blocked_until.get(account_id, 0.0):
                self._blocked_until[account_id] = until

    def calls_in_window(self, account_id: str, now: float) -> int:
        with self._lock:
            return sum(1 for t in self._calls.get(account_id, ()) if t > now - self.WINDOW_S)


class InMemoryUsageGuard(StoreUsageGuard):
    """``StoreUsageGuard`` over an ``InMemoryUsageStore`` (unit tests)."""

    store: InMemoryUsageStore

    def __init__(
        self,
        *,
        threshold_pct: float = 90.0,
        hourly_budget: int = 200,
        cooldown_s: float = 300.0,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(
            InMemoryUsageStore(),
            threshold_pct=threshold_pct,
            hourly_budget=hourly_budget,
            cooldown_s=cooldown_s,
            clock=clock,
        )
