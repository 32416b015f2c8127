"""Hashtags: pools per account, discovery within Instagram's search budget, and selection for captions.

* ``igpub.hashtags.names``: which hashtag and pool names igpub accepts;
* ``igpub.hashtags.budget``: the 30 unique hashtags per 7 days that Instagram allows, enforced before
  every search;
* ``igpub.hashtags.discovery``: search seeds, score them, add them to a pool;
* ``igpub.hashtags.selection``: the hashtags a post's caption gets from its pool, rotated.

The names below are re-exported so callers can keep writing ``from igpub import hashtags``.
"""

from __future__ import annotations

from igpub.hashtags.budget import (
    Admission,
    BudgetContention,
    BudgetStore,
    BudgetView,
    SearchBudget,
    Slot,
    live_searches,
    utc_iso,
)
from igpub.hashtags.discovery import (
    MAX_SEEDS,
    Discovery,
    NotConnected,
    PoolStore,
    SeedResult,
    SeedStatus,
    discover,
    engagement,
    related_tags,
    score_from_engagement,
)
from igpub.hashtags.names import (
    DEFAULT_POOL,
    MANUAL_SCORE,
    POOL_RE,
    TAG_RE,
    InvalidInput,
    budget_key,
    normalise_pool,
    normalise_tag,
)
from igpub.hashtags.selection import ROTATION_MEMORY, HashtagService, select_with_rotation

__all__ = [
    "DEFAULT_POOL",
    "MANUAL_SCORE",
    "MAX_SEEDS",
    "POOL_RE",
    "ROTATION_MEMORY",
    "TAG_RE",
    "Admission",
    "BudgetContention",
    "BudgetStore",
    "BudgetView",
    "Discovery",
    "HashtagService",
    "InvalidInput",
    "NotConnected",
    "PoolStore",
    "SearchBudget",
    "SeedResult",
    "SeedStatus",
    "Slot",
    "budget_key",
    "discover",
    "engagement",
    "live_searches",
    "normalise_pool",
    "normalise_tag",
    "related_tags",
    "score_from_engagement",
    "select_with_rotation",
    "utc_iso",
]
