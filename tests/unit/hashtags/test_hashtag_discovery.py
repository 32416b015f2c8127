"""discover(): budget before every search, scoring by top posts, errors as per-seed results (offline)."""

from __future__ import annotations

from typing import Any

import pytest

from igpub.hashtags import (
    InvalidInput,
    NotConnected,
    SearchBudget,
    discover,
    engagement,
    related_tags,
    score_from_engagement,
)
from igpub.instagram.errors import AuthError, HashtagLimitError, InvalidRequestError
from igpub.instagram.models import HashtagMedia
from igpub.repositories.hashtags import FacebookConnection
from tests.unit.hashtags.memstore import MemStore

ACCT = "17841400000000001"
NOW = 1_800_000_000
WEEK = 7 * 86400


class StubClient:
    def __init__(self, errors: dict[str, Exception] | None = None) -> None:
        self.searched: list[str] = []
        self.errors = errors or {}

    def hashtag_search(self, ig_user_id: str, token: str, q: str) -> str:
        assert token == "fb-token" and ig_user_id == ACCT
        self.searched.append(q)
        if q in self.errors:
            raise self.errors[q]
        return f"id-{q.lower()}"

    def hashtag_top_media(self, hashtag_id: str, ig_user_id: str, token: str, limit: int = 25) -> list[HashtagMedia]:
        n = len(hashtag_id)
        return [HashtagMedia(id=str(i), like_count=100 * n, comments_count=10, caption="#related #Other")
                for i in range(3)]


def setup(connected: bool = True, expires_at: int = NOW + 86400) -> tuple[MemStore, SearchBudget]:
    store = MemStore()
    if connected:
        store.save_facebook(FacebookConnection(ACCT, b"cipher", expires_at, "page", "Page", [], NOW, NOW))
    return store, SearchBudget(store, limit=30, window_s=WEEK, sleep=lambda _s: None)


def run(store: MemStore, budget: SearchBudget, client: Any, seeds: list[str], now: int = NOW) -> Any:
    return discover(ACCT, seeds, pool="cafe", store=store, budget=budget, client=client,
                    token=lambda conn: "fb-token", now=now)


def test_searches_scores_and_adds_to_the_pool() -> None:
    store, budget = setup()
    client = StubClient()
    found = run(store, budget, client, ["#Coffee", "latte", "coffee"])
    assert client.searched == ["Coffee", "latte"]  # de-duplicated
    assert [r.status for r in found.results] == ["added", "added"]
    tags = {t.tag: t for t in store.pool(ACCT, "cafe")}
    assert set(tags) == {"Coffee", "latte"}
    assert tags["Coffee"].score == score_from_engagement(100 * len("id-coffee") + 10)
    assert tags["Coffee"].hashtag_id == "id-coffee" and tags["Coffee"].source == "discover"
    assert found.budget.used == 2
    assert found.related == ["related", "other"]
    assert found.as_dict()["added"] == ["Coffee", "latte"]
    # hashtag ids are static: a tag already in the pool is re-scored without a second search
    again = run(store, budget, client, ["coffee"])
    assert again.results[0].status == "added" and not again.results[0].counted
    assert client.searched == ["Coffee", "latte"]


def test_a_repeat_is_free_and_a_full_budget_skips_new_tags_without_calling_instagram() -> None:
    store, budget = setup()
    for i in range(29):
        budget.admit(ACCT, f"old{i}", now=NOW - 100)
    client = StubClient()
    found = run(store, budget, client, ["old3", "first", "second"])
    assert [(r.tag, r.status, r.counted) for r in found.results] == [
        ("old3", "added", False), ("first", "added", True), ("second", "skipped", False)]
    assert "next slot frees" in found.results[2].reason
    assert client.searched == ["old3", "first"]
    assert found.budget.used == 30


def test_the_window_moves_on() -> None:
    store, budget = setup(expires_at=NOW + 2 * WEEK)
    for i in range(30):
        budget.admit(ACCT, f"old{i}", now=NOW)
    assert run(store, budget, StubClient(), ["new"]).results[0].status == "skipped"
    assert run(store, budget, StubClient(), ["new"], now=NOW + WEEK).results[0].status == "added"


def test_instagram_saying_limit_reached_stops_new_tags_but_not_repeats() -> None:
    store, budget = setup()
    budget.admit(ACCT, "known", now=NOW)
    client = StubClient({"a": HashtagLimitError("(#18) limit", code=18)})
    found = run(store, budget, client, ["a", "b", "known"])
    assert [r.status for r in found.results] == ["failed", "skipped", "added"]
    assert client.searched == ["a", "known"]
    assert "b" not in store.budget(ACCT).searches  # no slot reserved for a search Instagram refuses


def test_errors_per_seed_and_auth_stops_everything() -> None:
    store, budget = setup()
    client = StubClient({"bad": InvalidRequestError("The hashtag is not supported.", code=100),
                         "auth": AuthError("Error validating access token", code=190, subcode=463)})
    found = run(store, budget, client, ["bad", "ok", "auth", "later"])
    assert [r.status for r in found.results] == ["failed", "added", "failed", "skipped"]
    assert found.stopped and "connect --facebook" in found.stopped
    assert client.searched == ["bad", "ok", "auth"]


def test_needs_a_live_facebook_connection_and_valid_input_before_spending_anything() -> None:
    store, budget = setup(connected=False)
    with pytest.raises(NotConnected, match="connect --facebook"):
        run(store, budget, StubClient(), ["coffee"])
    store, budget = setup(expires_at=NOW - 1)
    with pytest.raises(NotConnected, match="expired"):
        run(store, budget, StubClient(), ["coffee"])
    store, budget = setup()
    with pytest.raises(InvalidInput):
        run(store, budget, StubClient(), ["coffee", "not-a-tag"])
    with pytest.raises(InvalidInput):
        run(store, budget, StubClient(), [])
    with pytest.raises(InvalidInput):
        run(store, budget, StubClient(), [f"t{i}" for i in range(31)])
    with pytest.raises(InvalidInput):
        discover(ACCT, ["x"], pool="bad pool", store=store, budget=budget, client=StubClient(),  # type: ignore[arg-type]
                 token=lambda c: "fb-token", now=NOW)
    assert store.budget(ACCT).searches == {}


def test_scoring() -> None:
    media = [HashtagMedia(id="1", like_count=90, comments_count=10), HashtagMedia(id="2", like_count=None,
                                                                             comments_count=100)]
    assert engagement(media) == (100.0, 2)
    assert engagement([]) == (0.0, 0)
    assert score_from_engagement(0) == 0
    assert score_from_engagement(999) == 60.0
    assert score_from_engagement(10**9) == 100.0
    assert related_tags([HashtagMedia(id="1", caption="#A #a #b #seed")], ["Seed"]) == ["a", "b"]
