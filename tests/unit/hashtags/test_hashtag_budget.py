"""The hashtag search budget: 30 unique per rolling 7 days, repeats free, decided atomically (offline)."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from igpub.hashtags import BudgetContention, SearchBudget, live_searches
from igpub.repositories.hashtags import BudgetState
from tests.unit.hashtags.memstore import MemStore

WEEK = 7 * 86400
T0 = 1_800_000_000


def budget(store: MemStore, **kw: object) -> SearchBudget:
    return SearchBudget(store, limit=30, window_s=WEEK, sleep=lambda _s: None, **kw)  # type: ignore[arg-type]


def test_thirty_unique_then_refused_with_the_time_the_first_slot_frees() -> None:
    store = MemStore()
    b = budget(store)
    for i in range(30):
        assert b.admit("acct", f"tag{i}", now=T0 + i).admitted
    refused = b.admit("acct", "tag30", now=T0 + 100)
    assert not refused.admitted
    assert refused.frees_at == T0 + WEEK  # tag0's 7 days
    assert "30 unique hashtags" in refused.reason
    view = b.view("acct", now=T0 + 100)
    assert view.used == 30 and view.remaining == 0 and view.next_free_at == T0 + WEEK
    assert [s.tag for s in view.slots][:2] == ["tag0", "tag1"]


def test_repeats_are_free_and_do_not_restart_the_window() -> None:
    store = MemStore()
    b = budget(store)
    assert b.admit("acct", "Coffee", now=T0).free is False
    writes = store.budget_writes
    again = b.admit("acct", "coffee", now=T0 + 5 * 86400)  # case-insensitive, within 7 days
    assert again.admitted and again.free
    assert store.budget_writes == writes  # no write at all
    assert store.budget("acct").searches == {"coffee": T0}  # timer not restarted
    # a repeat is still free when the budget is full
    for i in range(29):
        b.admit("acct", f"t{i}", now=T0 + 10)
    assert b.admit("acct", "COFFEE", now=T0 + 20).free
    assert not b.admit("acct", "new", now=T0 + 20).admitted


def test_slots_free_exactly_after_seven_days_and_expired_entries_are_pruned_in_the_same_write() -> None:
    store = MemStore()
    b = budget(store)
    for i in range(30):
        b.admit("acct", f"old{i}", now=T0)
    assert not b.admit("acct", "x", now=T0 + WEEK - 1).admitted
    assert b.admit("acct", "x", now=T0 + WEEK).admitted  # first + window <= now: free again
    assert store.budget("acct").searches == {"x": T0 + WEEK}  # expired entries gone, no TTL involved
    # and a tag searched again after its window counts anew
    assert b.admit("acct", "old0", now=T0 + WEEK).free is False


def test_accounts_have_separate_budgets() -> None:
    store = MemStore()
    b = budget(store)
    for i in range(30):
        b.admit("a", f"t{i}", now=T0)
    assert b.admit("b", "t99", now=T0).admitted


def test_live_searches_boundary() -> None:
    assert live_searches({"a": 100, "b": 101}, now=100 + WEEK, window_s=WEEK) == {"b": 101}


def test_concurrent_admissions_never_exceed_thirty_unique() -> None:
    """64 threads, 300 admissions of overlapping tags: never more than 30 unique admitted."""
    store = MemStore()
    store.read_delay = 0.001
    b = SearchBudget(store, limit=30, window_s=WEEK, sleep=lambda s: threading.Event().wait(s / 50))
    rng = random.Random(7)
    tags = [f"tag{rng.randrange(80)}" for _ in range(300)]
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda t: (t, b.admit("acct", t, now=T0)), tags))
    admitted = {t for t, a in results if a.admitted}
    new_slots = [t for t, a in results if a.admitted and not a.free]
    assert len(admitted) == 30
    assert len(new_slots) == len(set(new_slots)) == 30  # each unique tag took exactly one slot
    assert set(store.budget("acct").searches) == admitted
    assert store.conflicts > 0  # the compare-and-set really was contended


def test_persistent_contention_refuses_rather_than_risk_it() -> None:
    class Busy(MemStore):
        def write_budget(self, account_id: str, searches: dict[str, int], *, expected_version: int,
                         now: int) -> bool:
            return False

    with pytest.raises(BudgetContention):
        budget(Busy(), max_attempts=3).admit("acct", "t", now=T0)


def test_budget_state_from_an_old_item_with_expired_entries_only() -> None:
    store = MemStore()
    store.budgets["acct"] = BudgetState({f"t{i}": T0 - WEEK - i for i in range(40)}, version=9)
    b = budget(store)
    assert b.view("acct", now=T0).used == 0
    assert b.admit("acct", "fresh", now=T0).admitted
    assert store.budget("acct") == BudgetState({"fresh": T0}, 10)
