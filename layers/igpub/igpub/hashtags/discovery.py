"""Hashtag discovery: search seeds within the budget (igpub.hashtags.budget), score each by its top
posts' engagement, add it to a pool, and suggest related hashtags. Hashtag search needs a Facebook
Login token: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-hashtag-search
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from igpub.hashtags.budget import BudgetStore, BudgetView, SearchBudget, utc_iso
from igpub.hashtags.names import InvalidInput, budget_key, normalise_pool, normalise_tag
from igpub.instagram.errors import AuthError, HashtagLimitError, InstagramError, RateLimitedError
from igpub.instagram.models import HashtagMedia
from igpub.observability import logger
from igpub.publishing.captions import find_hashtags
from igpub.repositories.hashtags import FacebookConnection, PoolTag, RotationState

if TYPE_CHECKING:
    from igpub.instagram.client import InstagramClient

MAX_SEEDS = 30  # more could never be searched in one window


def engagement(media: Iterable[HashtagMedia]) -> tuple[float, int]:
    """Mean likes + comments of the top posts (likes may be hidden: then comments only), and their number."""
    totals = [(m.like_count or 0) + (m.comments_count or 0) for m in media]
    if not totals:
        return 0.0, 0
    return sum(totals) / len(totals), len(totals)


def score_from_engagement(mean: float) -> float:
    """0-100, logarithmic: 10 -> ~21, 1,000 -> 60, 100,000 -> 100 (capped)."""
    return round(min(100.0, 20.0 * math.log10(1.0 + max(0.0, mean))), 2)


def related_tags(media: Iterable[HashtagMedia], exclude: Iterable[str], limit: int = 10) -> list[str]:
    """Hashtags that appear most in the top posts' captions (suggestions: not searched, not added)."""
    skip = {budget_key(t) for t in exclude}
    counts: Counter[str] = Counter()
    for m in media:
        for tag in dict.fromkeys(budget_key(t) for t in find_hashtags(m.caption or "")):
            if tag not in skip:
                counts[tag] += 1
    return [t for t, _ in counts.most_common(limit)]


class PoolStore(BudgetStore, Protocol):
    def put_tag(
        self,
        account_id: str,
        pool: str,
        tag: str,
        *,
        score: float | None,
        default_score: float,
        source: str,
        now: int,
        hashtag_id: str | None = None,
        engagement: float | None = None,
        top_posts: int | None = None,
    ) -> None: ...

    def facebook(self, account_id: str) -> FacebookConnection | None: ...

    def pool(self, account_id: str, pool: str) -> list[PoolTag]: ...

    def rotation(self, account_id: str, pool: str) -> RotationState: ...

    def write_rotation(
        self, account_id: str, pool: str, recent: list[dict[str, Any]], *, expected_version: int, now: int
    ) -> bool: ...


class NotConnected(Exception):
    """Discovery needs a Facebook Login connection (``igpub connect --facebook``)."""


SeedStatus = Literal["added", "skipped", "failed"]


@dataclass
class SeedResult:
    tag: str
    status: SeedStatus
    reason: str = ""
    score: float | None = None
    engagement: float | None = None
    top_posts: int | None = None
    hashtag_id: str | None = None
    counted: bool = False  # this search took a new budget slot


@dataclass
class Discovery:
    account_id: str
    pool: str
    results: list[SeedResult]
    related: list[str]
    budget: BudgetView
    stopped: str | None = None  # why the remaining seeds were not tried
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "account_id": self.account_id,
            "pool": self.pool,
            "results": [asdict(r) for r in self.results],
            "added": [r.tag for r in self.results if r.status == "added"],
            "related": self.related,
            "stopped": self.stopped,
            "budget": self.budget.as_dict(),
        }


def discover(
    account_id: str,
    seeds: list[str],
    *,
    pool: str,
    store: PoolStore,
    budget: SearchBudget,
    client: InstagramClient,
    token: Callable[[FacebookConnection], str],
    now: int,
    top_limit: int = 25,
) -> Discovery:
    """Search each seed (within the budget), score it by its top posts' engagement, add it to ``pool``."""
    pool = normalise_pool(pool)
    unique: dict[str, str] = {}
    for seed in seeds:  # InvalidInput before anything is spent; case-insensitive, the first spelling wins
        tag = normalise_tag(seed)
        unique.setdefault(budget_key(tag), tag)
    tags = list(unique.values())
    if not tags:
        raise InvalidInput("give at least one hashtag to discover")
    if len(tags) > MAX_SEEDS:
        raise InvalidInput(f"{len(tags)} hashtags: at most {MAX_SEEDS} can be searched in one window")
    conn = store.facebook(account_id)
    if conn is None:
        raise NotConnected(
            f"account {account_id} has no Facebook Login connection: hashtag search works only with Facebook "
            "Login. Run `igpub connect --facebook` and open the URL."
        )
    if conn.token_expires_at and conn.token_expires_at <= now:
        raise NotConnected(
            f"the Facebook token of account {account_id} expired on {utc_iso(conn.token_expires_at)}; "
            "Facebook tokens cannot be refreshed: run `igpub connect --facebook` again."
        )
    plain = token(conn)
    # hashtag ids are static and global (IG Hashtag Search reference, above): a tag already in the
    # pool needs no second ig_hashtag_search
    known = {t.tag.casefold(): t.hashtag_id for t in store.pool(account_id, pool) if t.hashtag_id}
    results: list[SeedResult] = []
    media_seen: list[HashtagMedia] = []
    stopped: str | None = None
    instagram_full = False
    for tag in tags:
        if stopped:
            results.append(SeedResult(tag, "skipped", stopped))
            continue
        if instagram_full and budget_key(tag) not in {s.tag for s in budget.view(account_id, now=now).slots}:
            # only repeats (free) can still work; do not reserve a slot for a search Instagram refuses
            results.append(SeedResult(tag, "skipped", "Instagram says the hashtag search limit is reached"))
            continue
        admission = budget.admit(account_id, tag, now=now)
        if not admission.admitted:
            results.append(SeedResult(tag, "skipped", admission.reason))
            continue
        result = SeedResult(tag, "failed", counted=not admission.free)
        results.append(result)
        try:
            hashtag_id = known.get(tag.casefold()) or client.hashtag_search(account_id, plain, tag)
            top = client.hashtag_top_media(hashtag_id, account_id, plain, limit=top_limit)
        except HashtagLimitError as exc:
            # searches made outside igpub (or Instagram counting differently): trust Instagram
            instagram_full = True
            result.reason = exc.advice
            continue
        except AuthError as exc:
            result.reason = exc.advice
            stopped = "Instagram refused the Facebook token: run `igpub connect --facebook` again"
            continue
        except RateLimitedError as exc:
            result.reason = exc.advice
            stopped = f"rate limited by Instagram; try again in {round(exc.retry_after_s)} s"
            continue
        except InstagramError as exc:
            logger.warning("hashtag search failed", extra={"tag": tag, "code": exc.code, "subcode": exc.subcode})
            result.reason = exc.advice
            continue
        mean, n = engagement(top)
        score = score_from_engagement(mean)
        store.put_tag(
            account_id,
            pool,
            tag,
            score=score,
            default_score=score,
            source="discover",
            now=now,
            hashtag_id=hashtag_id,
            engagement=round(mean, 2),
            top_posts=n,
        )
        media_seen.extend(top)
        result.status, result.score, result.engagement = "added", score, round(mean, 2)
        result.top_posts, result.hashtag_id = n, hashtag_id
    logger.info(
        "hashtag discovery",
        extra={
            "account_id": account_id,
            "pool": pool,
            "added": sum(r.status == "added" for r in results),
            "new_slots": sum(r.counted for r in results),
        },
    )
    return Discovery(
        account_id=account_id,
        pool=pool,
        results=results,
        related=related_tags(media_seen, tags),
        budget=budget.view(account_id, now=now),
        stopped=stopped,
    )
