"""Selection of a post's hashtags: ``igpub.publishing.captions.append_hashtags`` (scores favoured,
the last posts' sets penalised, 30-hashtag and 2200-character limits), remembering the sets of the
last posts per pool (``ROTATION#<pool>``, compare-and-set too, so two posts prepared at once still
rotate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from igpub.config import Settings
from igpub.hashtags.discovery import PoolStore
from igpub.observability import logger
from igpub.publishing.captions import MAX_HASHTAGS, append_hashtags

if TYPE_CHECKING:
    from igpub.publishing.request import PostRequest

ROTATION_MEMORY = 5  # sets remembered per pool (the penalty is ~0.95 at 4 posts ago anyway)


class HashtagService:
    """What the publish workflow uses: ``caption_for(req)`` -> (caption with pool hashtags, tags added)."""

    def __init__(self, settings: Settings, store: PoolStore, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def caption_for(self, req: PostRequest, *, post_id: str | None = None) -> tuple[str, list[str]]:
        if not req.hashtag_pool:
            return req.caption, []
        count = req.hashtag_count if req.hashtag_count is not None else self.settings.hashtags_per_post
        count = max(0, min(count, MAX_HASHTAGS))
        pool = self.store.pool(req.account_id, req.hashtag_pool)
        if not pool or count == 0:
            if not pool:
                logger.warning("hashtag pool is empty: posting without pool hashtags", extra={"pool": req.hashtag_pool})
            return req.caption, []
        return select_with_rotation(
            self.store,
            req.account_id,
            req.hashtag_pool,
            req.caption,
            [(t.tag, t.score) for t in pool],
            count,
            key=post_id or req.client_post_id or "",
            now=int(self.clock()),
        )


def select_with_rotation(
    store: PoolStore,
    account_id: str,
    pool_name: str,
    caption: str,
    pool: list[tuple[str, float]],
    count: int,
    *,
    key: str,
    now: int,
    attempts: int = 8,
) -> tuple[str, list[str]]:
    """``append_hashtags`` with the pool's rotation memory, recorded by compare-and-set.

    The same post (``key``) asking again (a retried task) gets the set it got the first time.
    """
    result: tuple[str, list[str]] = (caption, [])
    for _ in range(attempts):
        rotation = store.rotation(account_id, pool_name)
        if key:
            earlier = next((r["tags"] for r in rotation.recent if r["post"] == key), None)
            if earlier is not None:
                ranked = [(t, float(len(earlier) - i)) for i, t in enumerate(earlier)]
                return append_hashtags(caption, ranked, len(earlier), [])
        result = append_hashtags(caption, pool, count, [r["tags"] for r in rotation.recent])
        if not result[1]:
            return result
        recent = [{"post": key, "tags": result[1]}, *rotation.recent][:ROTATION_MEMORY]
        if store.write_rotation(account_id, pool_name, recent, expected_version=rotation.version, now=now):
            return result
    logger.warning("rotation memory busy: not recorded", extra={"pool": pool_name})
    return result
