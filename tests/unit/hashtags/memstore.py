"""An in-memory PoolStore with the repository's compare-and-set semantics (thread-safe), for unit tests."""

from __future__ import annotations

import threading
import time
from typing import Any

from igpub.repositories.hashtags import BudgetState, FacebookConnection, PoolTag, RotationState


class MemStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.budgets: dict[str, BudgetState] = {}
        self.rotations: dict[tuple[str, str], RotationState] = {}
        self.pools: dict[tuple[str, str], dict[str, PoolTag]] = {}
        self.connections: dict[str, FacebookConnection] = {}
        self.budget_writes = 0
        self.conflicts = 0
        self.fail_rotation_writes = 0
        self.read_delay = 0.0  # > 0: let other threads run between a read and its write

    # budget
    def budget(self, account_id: str) -> BudgetState:
        with self.lock:
            s = self.budgets.get(account_id, BudgetState())
            state = BudgetState(dict(s.searches), s.version)
        if self.read_delay:
            time.sleep(self.read_delay)
        return state

    def write_budget(self, account_id: str, searches: dict[str, int], *, expected_version: int, now: int) -> bool:
        with self.lock:
            current = self.budgets.get(account_id, BudgetState())
            if current.version != expected_version:
                self.conflicts += 1
                return False
            self.budgets[account_id] = BudgetState(dict(searches), expected_version + 1)
            self.budget_writes += 1
            return True

    # pools
    def put_tag(self, account_id: str, pool: str, tag: str, *, score: float | None, default_score: float,
                source: str, now: int, hashtag_id: str | None = None, engagement: float | None = None,
                top_posts: int | None = None) -> None:
        with self.lock:
            tags = self.pools.setdefault((account_id, pool), {})
            old = tags.get(tag.casefold())
            final = score if score is not None else (old.score if old else default_score)
            tags[tag.casefold()] = PoolTag(pool, tag, final, source, hashtag_id, engagement, top_posts, now, now)

    def pool(self, account_id: str, pool: str) -> list[PoolTag]:
        with self.lock:
            return list(self.pools.get((account_id, pool), {}).values())

    def add(self, account_id: str, pool: str, pairs: list[tuple[str, float]]) -> None:
        for tag, score in pairs:
            self.put_tag(account_id, pool, tag, score=score, default_score=0, source="manual", now=0)

    # rotation
    def rotation(self, account_id: str, pool: str) -> RotationState:
        with self.lock:
            r = self.rotations.get((account_id, pool), RotationState())
            return RotationState([dict(x) for x in r.recent], r.version)

    def write_rotation(self, account_id: str, pool: str, recent: list[dict[str, Any]], *, expected_version: int,
                       now: int) -> bool:
        with self.lock:
            if self.fail_rotation_writes:
                self.fail_rotation_writes -= 1
                return False
            current = self.rotations.get((account_id, pool), RotationState())
            if current.version != expected_version:
                return False
            self.rotations[(account_id, pool)] = RotationState([dict(x) for x in recent], expected_version + 1)
            return True

    # facebook
    def facebook(self, account_id: str) -> FacebookConnection | None:
        return self.connections.get(account_id)

    def save_facebook(self, conn: FacebookConnection) -> None:
        self.connections[conn.account_id] = conn
