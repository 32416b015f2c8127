"""Usage headers -> snapshot, and the guard's two refusals (usage threshold, hourly budget)."""

from __future__ import annotations

import json

import pytest

from igpub.config import Settings
from igpub.instagram.errors import RateLimitedError
from igpub.instagram.usage import (
    NullUsageGuard,
    StoreUsageGuard,
    UsageSnapshot,
    parse_usage_headers,
)
from tests.unit.instagram.usage_doubles import InMemoryUsageGuard, InMemoryUsageStore


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_parse_usage_headers() -> None:
    assert parse_usage_headers({}) is None
    snap = parse_usage_headers(
        {"X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25})}
    )
    assert snap == UsageSnapshot(max_pct=28, regain_after_s=0)
    buc = {
        "17841": [
            {
                "type": "instagram",
                "call_count": 91,
                "total_cputime": 5,
                "total_time": 5,
                "estimated_time_to_regain_access": 2,
            }
        ]
    }
    snap = parse_usage_headers({"x-business-use-case-usage": json.dumps(buc)})
    assert snap == UsageSnapshot(max_pct=91, regain_after_s=120)


def test_guard_refuses_at_threshold_until_regain() -> None:
    clock = Clock()
    guard = InMemoryUsageGuard(threshold_pct=90, cooldown_s=60, clock=clock)
    guard.before_call("a")
    guard.after_call("a", UsageSnapshot(max_pct=89.9))
    guard.before_call("a")  # under the threshold: fine
    guard.after_call("a", UsageSnapshot(max_pct=90, regain_after_s=600))
    with pytest.raises(RateLimitedError) as info:
        guard.before_call("a")
    assert info.value.retry_after_s == pytest.approx(600)
    guard.before_call("b")  # other accounts are not affected
    clock.t += 599
    with pytest.raises(RateLimitedError):
        guard.before_call("a")
    clock.t += 1
    guard.before_call("a")


def test_guard_cooldown_when_regain_unknown_and_blocks_only_extend() -> None:
    clock = Clock()
    guard = InMemoryUsageGuard(threshold_pct=90, cooldown_s=300, clock=clock)
    guard.after_call("a", UsageSnapshot(max_pct=95, regain_after_s=0))
    with pytest.raises(RateLimitedError) as info:
        guard.before_call("a")
    assert info.value.retry_after_s == pytest.approx(300)
    guard.after_call("a", UsageSnapshot(max_pct=99, regain_after_s=10))  # shorter: ignored
    guard.after_call("a", None)
    guard.after_call("a", UsageSnapshot(max_pct=10))
    clock.t += 299
    with pytest.raises(RateLimitedError):
        guard.before_call("a")


def test_hourly_budget_rolling() -> None:
    clock = Clock()
    guard = InMemoryUsageGuard(hourly_budget=200, clock=clock)
    for i in range(200):
        clock.t += 1 if i else 0
        guard.before_call("a")
    with pytest.raises(RateLimitedError) as info:
        guard.before_call("a")
    # the first call (t0) leaves the window at t0 + 3600; we are at t0 + 199
    assert info.value.retry_after_s == pytest.approx(3600 - 199)
    refused_at = clock.t
    clock.t = refused_at - 199 + 3600  # first call drops out
    guard.before_call("a")
    with pytest.raises(RateLimitedError):
        guard.before_call("a")
    clock.t += 1
    guard.before_call("a")


def test_refused_calls_are_not_counted() -> None:
    clock = Clock()
    store = InMemoryUsageStore()
    guard = StoreUsageGuard(store, hourly_budget=3, clock=clock)
    for _ in range(3):
        guard.before_call("a")
    for _ in range(5):
        with pytest.raises(RateLimitedError):
            guard.before_call("a")
    assert store.calls_in_window("a", clock.t) == 3


# The budget's atomicity across threads and processes is a property of the store every Lambda uses
# (DynamoDB's conditional updates), not of these doubles: tests/integration/test_usage_repository.py
# (test_budget_atomic_across_threads, test_budget_atomic_across_processes) drives the real one.


def test_from_settings_and_null_guard() -> None:
    settings = Settings(usage_threshold_pct=80, hourly_call_budget=5, usage_cooldown_s=30)
    guard = StoreUsageGuard.from_settings(InMemoryUsageStore(), settings)
    assert (guard.threshold_pct, guard.hourly_budget, guard.cooldown_s) == (80, 5, 30)
    null = NullUsageGuard()
    for _ in range(1000):
        null.before_call("a")
    null.after_call("a", UsageSnapshot(max_pct=100))
    null.before_call("a")
