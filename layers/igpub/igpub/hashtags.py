"""Hashtags: pools per account, discovery within Instagram's search budget, and selection for captions.

**The search budget** (reference §5, §11.7): Instagram lets an Instagram account query at most 30 unique
hashtags in a rolling 7 days. A hashtag counts once, from its first query, for 7 days; repeating it in
that time is free and does not restart its 7 days. igpub enforces the same rule *before* every search,
so it never makes the call that Instagram would refuse (and that would burn nothing but goodwill):

* One DynamoDB item per account (``BUDGET``) holds ``searches``: hashtag -> epoch of its first search
  in the current window, and a ``version`` number.
* ``SearchBudget.admit`` reads the item (consistently), drops the entries whose 7 days are over (their
  ``first + window <= now``: expiry is decided here, never by TTL deletion, which can lag by days),
  and then: a tag still in the window is admitted for free (no write); a new tag is refused when the
  live entries already number 30; otherwise it writes the pruned map plus the new tag **on condition
  that ``version`` is still the one it read** (and bumps it). A concurrent writer makes the condition
  fail; the admit reads again and decides again. Every admission of a new tag is therefore decided on
  the exact map that is committed, so concurrent discoveries (several Lambdas) can never admit a 31st
  unique hashtag. DynamoDB cannot count map entries in a condition; the version check makes the count
  done here as good as one done by DynamoDB.
* A slot is spent when it is reserved, before the call: if the call then fails, Instagram may still
  have counted the hashtag, so the slot is kept (never under-count).

**Selection** uses ``igpub.publishing.captions.append_hashtags`` (scores favoured, the last posts' sets
penalised, 30-hashtag and 2200-character limits) and remembers the sets of the last posts per pool
(``ROTATION#<pool>``, compare-and-set too, so two posts prepared at once still rotate).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from igpub.config import Settings
from igpub.instagram.errors import (
    AuthError,
    HashtagLimitError,
    InstagramError,
    RateLimitedError,
)
from igpub.instagram.models import HashtagMedia
from igpub.observability import logger
from igpub.publishing.captions import MAX_HASHTAGS, append_hashtags, find_hashtags
from igpub.repositories.hashtags import BudgetState, FacebookConnection, PoolTag, RotationState

if TYPE_CHECKING:
    from igpub.instagram.client import InstagramClient
    from igpub.publishing.request import PostRequest

TAG_RE = re.compile(r"\w{1,100}")
POOL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DEFAULT_POOL = "default"
MANUAL_SCORE = 50.0  # a hand-added tag's score when none is given (discovered scores run 0-100)
ROTATION_MEMORY = 5  # sets remembered per pool (the penalty is ~0.95 at 4 posts ago anyway)
MAX_SEEDS = 30  # more could never be searched in one window


class InvalidInput(ValueError):
    """A tag or pool name igpub cannot use."""


def normalise_tag(raw: str) -> str:
    """``#Foo`` -> ``Foo``; refuses anything that is not one run of word characters (what Instagram links)."""
    tag = raw.strip().lstrip("#")
    if not TAG_RE.fullmatch(tag):
        raise InvalidInput(f"{raw!r} is not a hashtag: use letters, digits and _ only (no spaces, dashes or emoji)")
    return tag


def normalise_pool(raw: str) -> str:
    if not POOL_RE.fullmatch(raw):
        raise InvalidInput(f"{raw!r} is not a pool name: use 1-64 of A-Z a-z 0-9 _ . -")
    return raw


def budget_key(tag: str) -> str:
    """How the budget names a hashtag: Instagram's hashtags are case-insensitive."""
    return tag.lower()


# ============================================================================================ budget


class BudgetStore(Protocol):
    def budget(self, account_id: str) -> BudgetState: ...

    def write_budget(self, account_id: str, searches: dict[str, int], *, expected_version: int, now: int) -> bool: ...


@dataclass(frozen=True)
class Admission:
    admitted: bool
    free: bool = False  # already counted in the window: costs nothing
    frees_at: int | None = None  # when refused: when the next slot frees
    reason: str = ""


@dataclass(frozen=True)
class Slot:
    tag: str
    first_search: int
    frees_at: int


@dataclass(frozen=True)
class BudgetView:
    account_id: str
    limit: int
    window_s: int
    now: int
    slots: list[Slot]  # live ones, oldest first

    @property
    def used(self) -> int:
        return len(self.slots)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def next_free_at(self) -> int | None:
        if self.remaining > 0:
            return None
        return self.slots[0].frees_at if self.slots else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "limit": self.limit,
            "window_s": self.window_s,
            "now": self.now,
            "used": self.used,
            "remaining": self.remaining,
            "next_free_at": self.next_free_at,
            "slots": [asdict(s) for s in self.slots],
        }


def live_searches(searches: dict[str, int], *, now: int, window_s: int) -> dict[str, int]:
    """The entries still counted: first search less than ``window_s`` ago."""
    return {tag: first for tag, first in searches.items() if first + window_s > now}


class BudgetContention(Exception):
    """The budget item kept changing under us (only under extreme contention)."""


class SearchBudget:
    def __init__(
        self,
        store: BudgetStore,
        *,
        limit: int = 30,
        window_s: int = 7 * 86400,
        max_attempts: int = 60,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.limit = limit
        self.window_s = window_s
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._rng = rng

    @classmethod
    def from_settings(cls, store: BudgetStore, settings: Settings) -> SearchBudget:
        return cls(store, limit=settings.hashtag_search_budget, window_s=settings.hashtag_window_s)

    def admit(self, account_id: str, tag: str, *, now: int) -> Admission:
        """Reserve a search of ``tag`` for ``account_id`` (see the module docstring)."""
        key = budget_key(tag)
        for attempt in range(self.max_attempts):
            state = self.store.budget(account_id)
            live = live_searches(state.searches, now=now, window_s=self.window_s)
            if key in live:
                return Admission(True, free=True)
            if len(live) >= self.limit:
                frees_at = min(live.values()) + self.window_s
                return Admission(
                    False,
                    frees_at=frees_at,
                    reason=f"{self.limit} unique hashtags already searched in the last "
                    f"{self.window_s // 86400} days; the next slot frees at {_iso(frees_at)}",
                )
            if self.store.write_budget(account_id, {**live, key: now}, expected_version=state.version, now=now):
                return Admission(True)
            # someone else wrote first: back off a little (full jitter) and decide again on their map
            self._sleep(self._rng() * min(0.5, 0.01 * 2**attempt))
        raise BudgetContention(f"the hashtag budget of {account_id} kept changing; try again")

    def view(self, account_id: str, *, now: int) -> BudgetView:
        state = self.store.budget(account_id)
        live = live_searches(state.searches, now=now, window_s=self.window_s)
        slots = sorted(
            (Slot(tag, first, first + self.window_s) for tag, first in live.items()),
            key=lambda s: (s.first_search, s.tag),
        )
        return BudgetView(account_id, self.limit, self.window_s, now, slots)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ============================================================================================ scoring


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


# ============================================================================================ discovery


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
            f"the Facebook token of account {account_id} expired on {_iso(conn.token_expires_at)}; "
            "Facebook tokens cannot be refreshed: run `igpub connect --facebook` again."
        )
    plain = token(conn)
    # hashtag ids are static and global (§5): a tag already in the pool needs no second ig_hashtag_search
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


# ============================================================================================ selection


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
