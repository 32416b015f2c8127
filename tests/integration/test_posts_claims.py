"""The conditional writes behind cancel and reschedule, against the deployed posts table: when a cancel
(or a reschedule) and the claim after the wait race for the same scheduled post, exactly one wins."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from igpub.repositories.posts import PostRecord, PostRepository, iso
from igpub_cli import api
from igpub_cli.deployment import Deployment

OLD, NEW = "arn:exec:old", "arn:exec:new"


@pytest.fixture
def posts(dep: Deployment) -> PostRepository:
    return api.posts_repo(dep)


def scheduled(posts: PostRepository) -> str:
    now = time.time()
    rec = PostRecord(post_id=f"claim-{uuid.uuid4().hex}", account_id="1", kind="image", request="{}",
                     status="scheduled", execution_id=OLD, created_at=iso(now), updated_at=iso(now),
                     started_at=int(now))
    assert posts.claim(rec) == (rec, True)
    return rec.post_id


def race(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_cancel_against_the_claim_exactly_one_wins(posts: PostRepository) -> None:
    outcomes = set()
    for _ in range(15):
        post_id = scheduled(posts)
        cancelled, claimed = race(lambda p=post_id: posts.cancel(p, time.time()),
                                  lambda p=post_id: posts.claim_for_publishing(p, OLD, time.time()))
        assert (cancelled is None) != (claimed is None)
        final = posts.get(post_id)
        assert final is not None
        assert final.status == ("cancelled" if cancelled else "creating")
        assert len(final.history) == (1 if cancelled else 0)
        outcomes.add("cancel" if cancelled else "claim")
    print("winners seen:", outcomes)


def test_reschedule_against_the_claim_exactly_one_wins(posts: PostRepository) -> None:
    for _ in range(10):
        post_id = scheduled(posts)
        moved, claimed = race(
            lambda p=post_id: posts.reschedule(p, time.time(), old_execution_id=OLD, new_execution_id=NEW,
                                               request="{}", from_at=None, to_at="2030-01-01T00:00:00Z"),
            lambda p=post_id: posts.claim_for_publishing(p, OLD, time.time()),
        )
        assert (moved is None) != (claimed is None)
        final = posts.get(post_id)
        assert final is not None
        if moved:
            assert (final.status, final.execution_id) == ("scheduled", NEW)
            # the old execution can no longer claim it; the new one can
            assert posts.claim_for_publishing(post_id, OLD, time.time()) is None
            assert posts.claim_for_publishing(post_id, NEW, time.time()) is not None
        else:
            assert (final.status, final.execution_id) == ("creating", OLD)


def test_a_prepare_for_the_new_execution_keeps_the_history_and_a_cancel(posts: PostRepository) -> None:
    post_id = scheduled(posts)
    assert posts.reschedule(post_id, time.time(), old_execution_id=OLD, new_execution_id=NEW, request="{}",
                            from_at=None, to_at="2030-01-01T00:00:00Z") is not None
    assert posts.cancel(post_id, time.time()) is not None
    now = time.time()
    again = PostRecord(post_id=post_id, account_id="1", kind="image", request='{"x": 1}', caption="new",
                       status="scheduled", execution_id=NEW, created_at=iso(now), updated_at=iso(now),
                       started_at=int(now))
    rec, owned = posts.claim(again)
    assert owned and rec.status == "cancelled" and rec.caption == "new"
    assert [h["action"] for h in rec.history] == ["reschedule", "cancel"]
    stranger = again.model_copy(update={"execution_id": "arn:exec:other"})
    assert posts.claim(stranger)[1] is False
