"""Instagram call-usage tracking: parse the usage headers and stop calling before Meta throttles us.

* ``parse_usage_headers`` reads ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` into a ``UsageSnapshot``.
* A ``UsageGuard`` is asked before every HTTP call made for an account (``before_call`` raises
  ``RateLimitedError``) and told about every response (``after_call``).
* ``StoreUsageGuard`` holds the policy (threshold, hourly budget, cool-down) over a ``UsageStore`` that
  keeps the shared state: ``igpub.repositories.usage.DynamoUsageStore`` (every Lambda sees the same
  state; the unit tests use an in-memory one, ``tests/unit/instagram/usage_doubles.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from igpub.config import Settings
from igpub.instagram.errors import RateLimitedError
from igpub.instagram.models import Usage

__all__ = [
    "Decision",
    "NullUsageGuard",
    "StoreUsageGuard",
    "UsageGuard",
    "UsageSnapshot",
    "UsageStore",
    "parse_usage_headers",
]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """What one response said about our usage: the highest percentage of any counter, and the regain time."""

    max_pct: float
    regain_after_s: float = 0.0

    @classmethod
    def from_usage(cls, usage: Usage) -> UsageSnapshot:
        return cls(max_pct=usage.max_pct, regain_after_s=usage.regain_after_s)

    @classmethod
    def throttled(cls, retry_after_s: float) -> UsageSnapshot:
        """What to record when Meta itself answered with a rate-limit error (often without headers)."""
        return cls(max_pct=100.0, regain_after_s=retry_after_s)


def parse_usage_headers(headers: Mapping[str, str]) -> UsageSnapshot | None:
    """The snapshot of a response, or None when it carries no usage header (which means nothing)."""
    usage = Usage.from_headers(headers)
    return UsageSnapshot.from_usage(usage) if usage.present else None


class UsageGuard(Protocol):
    """Asked before and told after every HTTP call made on behalf of an Instagram account."""

    def before_call(self, account_id: str) -> None:
        """Count one call, or raise ``RateLimitedError`` (nothing counted) when the account must wait."""
        ...

    def after_call(self, account_id: str, snapshot: UsageSnapshot | None) -> None:
        """Record what the response said about usage (``None``: no usage header)."""
        ...


class NullUsageGuard:
    """Tracks nothing, never refuses."""

    def before_call(self, account_id: str) -> None:
        return None

    def after_call(self, account_id: str, snapshot: UsageSnapshot | None) -> None:
        return None


# --------------------------------------------------------------------------------------------------------
# Store-backed guard


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Literal["ok", "usage", "budget"] = "ok"
    retry_after_s: float = 0.0


class UsageStore(Protocol):
    """Shared per-account state. ``acquire`` must check and count atomically."""

    def acquire(self, account_id: str, *, now: float, budget: int) -> Decision:
        """Refuse when the account is blocked (``blocked_until > now``) or made ``budget`` calls in the
        rolling hour; otherwise count one call. Both in one atomic step."""
        ...

    def block(self, account_id: str, *, now: float, until: float, pct: float) -> None:
        """Refuse calls until ``until`` (epoch s). Only ever extends an existing block."""
        ...


class StoreUsageGuard:
    """The policy: refuse at ``threshold_pct`` reported usage until the regain time (at least ``cooldown_s``),
    and beyond ``hourly_budget`` calls per account in a rolling hour."""

    def __init__(
        self,
        store: UsageStore,
        *,
        threshold_pct: float = 90.0,
        hourly_budget: int = 200,
        cooldown_s: float = 300.0,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.threshold_pct = threshold_pct
        self.hourly_budget = hourly_budget
        self.cooldown_s = cooldown_s
        self._clock = clock

    @classmethod
    def from_settings(cls, store: UsageStore, settings: Settings, *, clock: Clock = time.time) -> StoreUsageGuard:
        return cls(
            store,
            threshold_pct=settings.usage_threshold_pct,
            hourly_budget=settings.hourly_call_budget,
            cooldown_s=float(settings.usage_cooldown_s),
            clock=clock,
        )

    def before_call(self, account_id: str) -> None:
        decision = self.store.acquire(account_id, now=self._clock(), budget=self.hourly_budget)
        if decision.allowed:
            return
        wait = max(1.0, decision.retry_after_s)
        if decision.reason == "usage":
            message = f"Instagram usage for this account reached {self.threshold_pct:g} %; calls paused"
        else:
            message = f"This account made {self.hourly_budget} Instagram calls in the last hour"
        raise RateLimitedError(message, retry_after_s=wait)

    def after_call(self, account_id: str, snapshot: UsageSnapshot | None) -> None:
        if snapshot is None or snapshot.max_pct < self.threshold_pct:
            return
        now = self._clock()
        until = now + max(snapshot.regain_after_s, self.cooldown_s)
        self.store.block(account_id, now=now, until=until, pct=snapshot.max_pct)
