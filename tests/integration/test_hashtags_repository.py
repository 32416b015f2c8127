"""HashtagRepository and the search budget against the deployed hashtags table in the emulator."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from igpub.hashtags import SearchBudget
from igpub.repositories.hashtags import FacebookConnection, HashtagRepository
from igpub_cli.deployment import Deployment

T0 = 1_800_000_000
WEEK = 7 * 86400


def repo(dep: Deployment) -> HashtagRepository:
    # one boto3 session per repository: resources are not thread-safe
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=dep.region)
    table: Any = session.resource("dynamodb", endpoint_url=dep.endpoint_url).Table(dep.output("HashtagsTableName"))
    return HashtagRepository(table.name, table=table)


def test_pools_add_update_list_remove(dep: Deployment) -> None:
    r, acct = repo(dep), uuid.uuid4().hex
    r.put_tag(acct, "main", "Coffee", score=None, default_score=50, source="manual", now=T0)
    r.put_tag(acct, "main", "coffee", score=None, default_score=10, source="manual", now=T0 + 1)  # same tag
    r.put_tag(acct, "main", "latte", score=80.5, default_score=50, source="discover", now=T0, hashtag_id="17843",
              engagement=1234.5, top_posts=25)
    r.put_tag(acct, "other", "tea", score=1, default_score=50, source="manual", now=T0)
    tags = {t.tag.casefold(): t for t in r.pool(acct, "main")}
    assert set(tags) == {"coffee", "latte"}
    assert tags["coffee"].score == 50 and tags["coffee"].added_at == T0 and tags["coffee"].updated_at == T0 + 1
    assert tags["latte"].hashtag_id == "17843" and tags["latte"].engagement == 1234.5 and tags["latte"].top_posts == 25
    assert set(r.pools(acct)) == {"main", "other"}
    assert r.remove_tags(acct, "main", ["COFFEE", "missing"]) == ["COFFEE"]
    assert [t.tag for t in r.pool(acct, "main")] == ["latte"]
    assert r.pool(acct, "nothing") == []


def test_compare_and_set_items(dep: Deployment) -> None:
    r, acct = repo(dep), uuid.uuid4().hex
    assert r.budget(acct).version == 0
    assert r.write_budget(acct, {"a": T0}, expected_version=0, now=T0)
    assert not r.write_budget(acct, {"b": T0}, expected_version=0, now=T0)  # lost the race
    assert r.write_budget(acct, {"a": T0, "c": T0 + 1}, expected_version=1, now=T0)
    state = r.budget(acct)
    assert state.searches == {"a": T0, "c": T0 + 1} and state.version == 2
    assert r.write_rotation(acct, "main", [{"post": "p", "tags": ["x"]}], expected_version=0, now=T0)
    assert not r.write_rotation(acct, "main", [], expected_version=0, now=T0)
    assert r.rotation(acct, "main").recent == [{"post": "p", "tags": ["x"]}]


def test_facebook_connection_round_trip(dep: Deployment) -> None:
    r, acct = repo(dep), uuid.uuid4().hex
    assert r.facebook(acct) is None
    r.save_facebook(FacebookConnection(acct, b"\x01\x02", T0 + 60, "page1", "My Page", ["instagram_basic"], T0, T0))
    r.save_facebook(FacebookConnection(acct, b"\x03", T0 + 90, "page1", "My Page", ["instagram_basic"], T0 + 5, T0 + 5))
    conn = r.facebook(acct)
    assert conn is not None
    assert conn.token_ciphertext == b"\x03" and conn.token_expires_at == T0 + 90
    assert conn.connected_at == T0 and conn.updated_at == T0 + 5  # first connection time kept


def test_concurrent_admissions_on_dynamodb_never_exceed_thirty(dep: Deployment) -> None:
    acct = uuid.uuid4().hex
    rng = random.Random(3)
    tags = [f"tag{rng.randrange(60)}" for _ in range(120)]
    budgets = [SearchBudget(repo(dep), limit=30, window_s=WEEK) for _ in range(16)]

    def admit(i: int) -> tuple[str, bool, bool]:
        a = budgets[i % 16].admit(acct, tags[i], now=T0)
        return tags[i], a.admitted, a.free

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(admit, range(len(tags))))
    admitted = {t for t, ok, _ in results if ok}
    new_slots = [t for t, ok, free in results if ok and not free]
    assert len(admitted) == 30 and len(new_slots) == 30
    state = repo(dep).budget(acct)
    assert set(state.searches) == admitted
    assert state.version == 30  # one write per admitted new tag, nothing else
