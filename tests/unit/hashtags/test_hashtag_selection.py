"""Pool hashtags appended by the publish flow: HashtagService.caption_for and prepare() (offline)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from igpub.config import Settings
from igpub.hashtags import ROTATION_MEMORY, HashtagService
from igpub.publishing.captions import CAPTION_MAX_CHARS, caption_length, count_hashtags, find_hashtags
from igpub.publishing.request import PostRequest
from tests.unit.hashtags.memstore import MemStore

ACCT = "17841400000000001"
POOL = [(f"tag{i:02d}", float(100 - i)) for i in range(40)]


def request(caption: str = "Hello", *, pool: str | None = "main", count: int | None = None,
            post: str | None = None) -> PostRequest:
    return PostRequest(account_id=ACCT, kind="image", media=[{"url": "https://example.com/a.jpg"}],
                       caption=caption, hashtag_pool=pool, hashtag_count=count, client_post_id=post)


def service(pairs: list[tuple[str, float]] = POOL, **settings: Any) -> tuple[HashtagService, MemStore]:
    store = MemStore()
    store.add(ACCT, "main", pairs)
    return HashtagService(Settings(**settings), store, clock=lambda: 1_800_000_000), store


def test_fifteen_by_default_the_best_scores_first() -> None:
    svc, _ = service()
    caption, tags = svc.caption_for(request(), post_id="p1")
    assert tags == [f"tag{i:02d}" for i in range(15)]
    assert caption == "Hello\n\n" + " ".join(f"#tag{i:02d}" for i in range(15))


def test_count_from_the_request_or_the_settings() -> None:
    svc, _ = service(hashtags_per_post=5)
    assert len(svc.caption_for(request(), post_id="a")[1]) == 5
    assert len(svc.caption_for(request(count=12), post_id="b")[1]) == 12
    assert svc.caption_for(request(count=0), post_id="c") == ("Hello", [])


def test_caption_with_hashtags_already_never_exceeds_thirty_and_skips_duplicates() -> None:
    svc, _ = service()
    existing = "Look " + " ".join(f"#mine{i}" for i in range(20)) + " #TAG00"
    caption, tags = svc.caption_for(request(existing), post_id="p")
    assert count_hashtags(caption) == 30
    assert len(tags) == 9
    assert "tag00" not in [t.casefold() for t in tags]  # already in the caption (case-insensitive)
    full = " ".join(f"#x{i}" for i in range(30))
    assert svc.caption_for(request(full), post_id="q") == (full, [])


def test_caption_stays_within_2200_characters() -> None:
    svc, _ = service()
    long_caption = "a" * (CAPTION_MAX_CHARS - 20)
    caption, tags = svc.caption_for(request(long_caption), post_id="p")
    assert caption_length(caption) <= CAPTION_MAX_CHARS
    assert 0 < len(tags) < 15
    emoji = "😀" * ((CAPTION_MAX_CHARS - 10) // 2)  # 2 UTF-16 units each
    caption, tags = svc.caption_for(request(emoji), post_id="q")
    assert caption_length(caption) <= CAPTION_MAX_CHARS
    at_limit = "b" * CAPTION_MAX_CHARS
    assert svc.caption_for(request(at_limit), post_id="r") == (at_limit, [])


def test_empty_or_unknown_pool_posts_without_hashtags() -> None:
    svc, store = service([])
    assert svc.caption_for(request("Plain"), post_id="p") == ("Plain", [])
    assert svc.caption_for(request("Plain", pool="nope"), post_id="p") == ("Plain", [])
    assert store.rotations == {}


def test_consecutive_posts_rotate_and_high_scores_come_back() -> None:
    pool = [(f"t{i}", float(100 - i)) for i in range(20)]
    svc, store = service(pool)
    sets = [frozenset(svc.caption_for(request(post=f"p{i}"), post_id=f"p{i}")[1]) for i in range(6)]
    for a, b in pairwise(sets):
        assert a != b  # never the same set twice in a row
        assert len(a) == 15
    # the best tag is not dropped for good: it returns within a few posts
    assert sum("t0" in s for s in sets) >= 3
    rotation = store.rotation(ACCT, "main")
    assert len(rotation.recent) == ROTATION_MEMORY
    assert rotation.recent[0]["post"] == "p5"


def test_rotation_with_a_pool_just_big_enough_still_changes_the_set() -> None:
    pool = [(f"t{i}", float(100 - i)) for i in range(16)]
    svc, _ = service(pool)
    first = set(svc.caption_for(request(), post_id="p1")[1])
    second = set(svc.caption_for(request(), post_id="p2")[1])
    assert first != second and len(first) == len(second) == 15


def test_a_retried_post_gets_the_same_hashtags_again() -> None:
    svc, store = service()
    first = svc.caption_for(request(), post_id="p1")
    svc.caption_for(request(), post_id="p2")
    again = svc.caption_for(request(), post_id="p1")
    assert again == first
    assert [r["post"] for r in store.rotation(ACCT, "main").recent] == ["p2", "p1"]


def test_a_concurrent_rotation_write_is_retried_on_fresh_memory() -> None:
    svc, store = service()
    svc.caption_for(request(), post_id="p1")
    store.fail_rotation_writes = 2  # two other posts wrote in between
    _, tags = svc.caption_for(request(), post_id="p2")
    assert tags and [r["post"] for r in store.rotation(ACCT, "main").recent] == ["p2", "p1"]


def test_prepare_appends_pool_hashtags_and_an_empty_pool_does_not_fail_the_post() -> None:
    from igpub.publishing import workflow

    class Posts:
        def __init__(self) -> None:
            self.records: list[Any] = []

        def claim(self, rec: Any) -> tuple[Any, bool]:
            self.records.append(rec)
            return rec, True

    class Accounts:
        def get(self, account_id: str) -> Any:
            from igpub.accounts import Account

            return Account(account_id=account_id, username="u", token_issued_at=0, token_expires_at=2**31,
                           connected_at="x", updated_at="x")

    svc, _ = service()
    posts = Posts()
    deps = workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(), cipher=None, client=None,  # type: ignore[arg-type]
                         media=None, hashtags=svc)  # type: ignore[arg-type]
    body = request("Hi").model_dump(mode="json", exclude_none=True)
    assert workflow.prepare(deps, "post-1", body, "exec-1")["status"] == "ready"
    assert len(find_hashtags(posts.records[-1].caption)) == 15
    assert posts.records[-1].hashtags == [f"tag{i:02d}" for i in range(15)]

    empty, _ = service([])
    deps.hashtags = empty
    assert workflow.prepare(deps, "post-2", body, "exec-2")["status"] == "ready"
    assert posts.records[-1].caption == "Hi" and posts.records[-1].hashtags == []
