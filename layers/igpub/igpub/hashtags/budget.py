"""The search budget (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-hashtag-search):
Instagram lets an Instagram account query at most 30 unique
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
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from igpub.config import Settings
from igpub.hashtags.names import budget_key
from igpub.repositories.hashtags import BudgetState


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
                    f"{self.window_s // 86400} days; the next slot frees at {utc_iso(frees_at)}",
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


def utc_iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
