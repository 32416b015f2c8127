"""The Publish task's answers to media_publish's refusals and the quota wait (igpub.publishing.publish), a
scripted client, the posts table in moto's DynamoDB: what the mutation run showed the scenarios leave open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import InstagramError, QuotaExhaustedError, RateLimitedError
from igpub.instagram.models import PublishingLimit
from igpub.publishing import workflow
from igpub.publishing.outcome import Status
from igpub.repositories.posts import PostRecord, PostRepository
from tests.unit.dynamo import tables

NOW = 1_800_000_000.0
A = "arn:exec:a"


class Client:
    def __init__(self) -> None:
        self.publish_error: InstagramError | None = None
        self.limit: PublishingLimit | InstagramError = PublishingLimit.model_validate(
            {"data": [{"quota_usage": 100, "config": {"quota_total": 100, "quota_duration": 86400}}]})

    def publish(self, ig: str, token: str, cid: str) -> str:
        if self.publish_error is not None:
            raise self.publish_error
        return "m1"

    def get_publishing_limit(self, ig: str, token: str) -> PublishingLimit:
        if isinstance(self.limit, InstagramError):
            raise self.limit
        return self.limit

    def get_media(self, media_id: str, token: str, **_: Any) -> Any:
        return type("M", (), {"permalink": "https://www.instagram.com/p/x/"})()


class Accounts:
    def get(self, account_id: str) -> Account:
        return Account(account_id="ig1", username="someone", token_issued_at=0, token_expires_at=2**31,
                       connected_at="t", updated_at="t")


class Cipher:
    def decrypt(self, blob: bytes, *, account_id: str) -> str:
        return "token"


@pytest.fixture
def world() -> Iterator[tuple[workflow.Deps, Client, PostRepository]]:
    with tables("PostsTable") as t:
        posts = PostRepository("PostsTable", table=t["PostsTable"])
        req = {"account_id": "ig1", "kind": "image", "media": [{"url": "https://cdn.example.com/a.jpg"}]}
        posts.claim(PostRecord(post_id="p1", account_id="ig1", kind="image", request=json.dumps(req),
                               status="processing", execution_id=A, item_containers=["c1"], created_at="t",
                               updated_at="t", started_at=int(NOW), failure_reason="stale", failure_code="old"))
        client = Client()
        deps = workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(),  # type: ignore[arg-type]
                             cipher=Cipher(), client=client, media=None, clock=lambda: NOW)  # type: ignore[arg-type]
        yield deps, client, posts


def test_publishing_clears_any_earlier_failure(world: tuple[workflow.Deps, Client, PostRepository]) -> None:
    deps, _, posts = world
    assert workflow.publish(deps, "p1", A)["status"] == Status.PUBLISHED
    rec = posts.get("p1")
    assert rec is not None and rec.status == "published" and rec.media_id == "m1"
    assert rec.failure_reason is None and rec.failure_code is None


def test_a_rate_limit_waits_as_told_not_for_the_quota(world: tuple[workflow.Deps, Client, PostRepository]) -> None:
    deps, client, posts = world
    client.publish_error = RateLimitedError("slow", retry_after_s=45, http_status=400)
    assert workflow.publish(deps, "p1", A) == {"status": Status.RATE_LIMITED, "wait_s": 45}
    rec = posts.get("p1")
    assert rec is not None and rec.waiting_for is None


def test_a_full_quota_waits_until_the_oldest_post_leaves_the_window(
        world: tuple[workflow.Deps, Client, PostRepository]) -> None:
    deps, client, posts = world
    posts.claim(PostRecord(post_id="old", account_id="ig1", kind="image", request="{}", status="published",
                           execution_id="e0", created_at="2000", updated_at="t", started_at=0,
                           published_at=int(NOW - 86400 + 100)))
    client.publish_error = QuotaExhaustedError("full", http_status=400)
    out = workflow.publish(deps, "p1", A)
    assert out == {"status": Status.QUOTA_FULL, "wait_s": 105, "quota_total": 100}
    rec = posts.get("p1")
    assert rec is not None and rec.waiting_for == "quota"


def test_a_full_quota_with_an_unreadable_limit_waits_an_hour(
        world: tuple[workflow.Deps, Client, PostRepository]) -> None:
    deps, client, _ = world
    client.publish_error = QuotaExhaustedError("full", http_status=400)
    client.limit = InstagramError("limit unreadable")
    assert workflow.publish(deps, "p1", A) == {"status": Status.QUOTA_FULL, "wait_s": 3600, "quota_total": None}


def test_a_published_post_is_answered_from_its_record(world: tuple[workflow.Deps, Client, PostRepository]) -> None:
    deps, client, posts = world
    posts.update("p1", NOW, status="published", media_id="m0", permalink="https://www.instagram.com/p/y/")
    client.publish_error = InstagramError("must not be called")
    out = workflow.publish(deps, "p1", A)
    assert out["status"] == Status.PUBLISHED and out["media_id"] == "m0"
    assert out["permalink"] == "https://www.instagram.com/p/y/"


def test_an_unreadable_verify_read_after_an_unknown_publish_never_fails_the_post(
    world: tuple[workflow.Deps, Client, PostRepository],
) -> None:
    """An earlier media_publish ended without an answer; the status read that verifies it answers something
    that is no refusal (a 2xx without a body): the post may be live, so it is verified again, not failed."""
    from igpub.instagram.errors import UnexpectedResponseError

    deps, client, posts = world
    posts.update("p1", NOW, publish_attempted_at=int(NOW) - 600, publish_unknown_at=int(NOW) - 500)

    def unreadable(container: str, token: str, **_: Any) -> Any:
        raise UnexpectedResponseError("container answered HTTP 200 with a non-JSON body", http_status=200)

    client.get_container_status = unreadable  # type: ignore[attr-defined]
    out = workflow.publish(deps, "p1", A)
    assert out["status"] == Status.VERIFY, out
    rec = posts.get("p1")
    assert rec is not None and rec.status == "processing" and rec.publish_unknown_at == int(NOW)
