"""DynamoUsageStore against a DynamoDB emulator (ministack) at IGPUB_TEST_AWS_ENDPOINT.

Each test module run creates its own uniquely named table and deletes it afterwards.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from igpub.instagram.errors import RateLimitedError
from igpub.instagram.usage import StoreUsageGuard, UsageSnapshot
from igpub.repositories.usage import DynamoUsageStore
from tests.local_stack import RUN_DIR


def _default_endpoint() -> str:
    """The running local stack's emulator (.run/stack.json), else the default port."""
    stack = RUN_DIR / "stack.json"
    if stack.exists():
        return str(json.loads(stack.read_text())["endpoint"])
    return "http://127.0.0.1:4566"


ENDPOINT = os.environ.get("IGPUB_TEST_AWS_ENDPOINT") or _default_endpoint()
T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


def _client() -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=ENDPOINT,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=10),
    )


@pytest.fixture(scope="module")
def table() -> Iterator[str]:
    client = _client()
    name = f"igpub-usage-test-{uuid.uuid4().hex[:10]}"
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except (BotoCoreError, ClientError) as exc:
        pytest.skip(f"no DynamoDB emulator at {ENDPOINT}: {exc}")
    client.get_waiter("table_exists").wait(TableName=name)
    yield name
    client.delete_table(TableName=name)


@pytest.fixture
def store(table: str) -> DynamoUsageStore:
    return DynamoUsageStore(table, client=_client())


def account() -> str:
    return f"acct-{uuid.uuid4().hex[:8]}"


def test_budget_exhausted_then_refused(store: DynamoUsageStore) -> None:
    acct = account()
    now = T0 + 5
    for _ in range(5):
        assert store.acquire(acct, now=now, budget=5).allowed
    decision = store.acquire(acct, now=now, budget=5)
    assert not decision.allowed and decision.reason == "budget"
    assert decision.retry_after_s == pytest.approx(3600 - 5)  # the minute of those calls leaves the window
    assert store.calls_in_window(acct, now) == 5  # refusals are not counted


def test_rolling_hour_at_minute_granularity(store: DynamoUsageStore) -> None:
    acct = account()
    t = T0 + 5
    for _ in range(3):
        assert store.acquire(acct, now=t, budget=5).allowed
    half = t + 1800
    for _ in range(2):
        assert store.acquire(acct, now=half, budget=5).allowed
    refused = store.acquire(acct, now=half, budget=5)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(T0 + 3600 - half)  # when the first minute drops out
    later = T0 + 3600  # minute M+60: the three first calls are out, the two at M+30 remain
    assert store.calls_in_window(acct, later) == 2
    for _ in range(3):
        assert store.acquire(acct, now=later, budget=5).allowed
    assert not store.acquire(acct, now=later + 30, budget=5).allowed
    assert store.calls_in_window(acct, later) == 5


def test_idle_account_resets(store: DynamoUsageStore, table: str) -> None:
    acct = account()
    for _ in range(4):
        assert store.acquire(acct, now=T0, budget=4).allowed
    assert not store.acquire(acct, now=T0 + 60, budget=4).allowed
    much_later = T0 + 3 * 3600 + 17
    assert store.acquire(acct, now=much_later, budget=4).allowed
    assert store.calls_in_window(acct, much_later) == 1
    item = _client().get_item(TableName=table, Key=DynamoUsageStore.key(acct), ConsistentRead=True)["Item"]
    windows = [k for k in item if k.startswith("w")]
    assert len(windows) == 60  # exactly the live windows; the ring never grows
    assert int(item["expires_at"]["N"]) > much_later


def test_gap_just_under_an_hour_keeps_counts_exact(store: DynamoUsageStore) -> None:
    acct = account()
    assert store.acquire(acct, now=T0, budget=10).allowed  # minute M
    assert store.acquire(acct, now=T0 + 59 * 60, budget=10).allowed  # minute M+59: both in window
    assert store.calls_in_window(acct, T0 + 59 * 60) == 2
    assert store.acquire(acct, now=T0 + 60 * 60, budget=10).allowed  # minute M+60: first one out
    assert store.calls_in_window(acct, T0 + 60 * 60) == 2
    assert store.acquire(acct, now=T0 + 120 * 60, budget=10).allowed  # exactly 60 min after lm
    assert store.calls_in_window(acct, T0 + 120 * 60) == 1


def test_lagging_clock_counts_in_the_latest_minute(store: DynamoUsageStore) -> None:
    acct = account()
    assert store.acquire(acct, now=T0 + 120, budget=3).allowed  # a Lambda at minute M+2
    assert store.acquire(acct, now=T0 + 60, budget=3).allowed  # another one, a minute behind
    assert store.acquire(acct, now=T0 + 125, budget=3).allowed
    assert not store.acquire(acct, now=T0 + 126, budget=3).allowed


def test_block_only_extends(store: DynamoUsageStore) -> None:
    acct = account()
    store.block(acct, now=T0, until=T0 + 100, pct=95)
    decision = store.acquire(acct, now=T0 + 1, budget=200)
    assert not decision.allowed and decision.reason == "usage"
    assert decision.retry_after_s == pytest.approx(99)
    store.block(acct, now=T0 + 2, until=T0 + 50, pct=99)  # shorter: ignored
    assert not store.acquire(acct, now=T0 + 60, budget=200).allowed
    assert store.acquire(acct, now=T0 + 100, budget=200).allowed


def test_guard_on_dynamo(store: DynamoUsageStore) -> None:
    clock = [T0 + 1]
    guard = StoreUsageGuard(store, threshold_pct=90, hourly_budget=2, cooldown_s=120, clock=lambda: clock[0])
    acct, other = account(), account()
    guard.before_call(acct)
    guard.after_call(acct, UsageSnapshot(max_pct=50))
    guard.before_call(acct)
    with pytest.raises(RateLimitedError):
        guard.before_call(acct)
    guard.before_call(other)
    guard.after_call(other, UsageSnapshot(max_pct=92, regain_after_s=30))
    with pytest.raises(RateLimitedError) as info:
        guard.before_call(other)
    assert info.value.retry_after_s == pytest.approx(120)


# ------------------------------------------------------------------ concurrency


def _hammer(table: str, acct: str, calls: int, budget: int, now: float) -> int:
    store = DynamoUsageStore(table, client=_client())
    return sum(store.acquire(acct, now=now, budget=budget).allowed for _ in range(calls))


def test_budget_atomic_across_threads(table: str) -> None:
    acct, budget = account(), 50
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        n = _hammer(table, acct, 25, budget, T0 + 7)
        with lock:
            results.append(n)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == budget  # 150 attempts, exactly the budget allowed


def test_budget_atomic_across_processes(table: str) -> None:
    acct, budget = account(), 40
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_hammer, table, acct, 30, budget, T0 + 11) for _ in range(2)]
        allowed = [f.result() for f in futures]
    assert sum(allowed) == budget
    assert all(n > 0 for n in allowed)
    store = DynamoUsageStore(table, client=_client())
    assert store.calls_in_window(acct, T0 + 11) == budget
