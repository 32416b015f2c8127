"""The Prepare task (igpub.publishing.claiming) decision by decision, against a posts table in moto's DynamoDB:
what is recorded, when a post is scheduled, the bucket's media, a second execution."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from igpub.accounts import Account
from igpub.config import Settings
from igpub.publishing import workflow
from igpub.publishing.outcome import Status
from igpub.publishing.request import PostRequest
from igpub.repositories.media import ObjectPeek
from igpub.repositories.posts import PostRepository
from tests.unit.dynamo import tables

NOW = 1_800_000_000.0
A, B = "arn:exec:a", "arn:exec:b"


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(buf, "JPEG")
    return buf.getvalue()


class Media:
    bucket = "media-bucket"

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def peek(self, key: str) -> ObjectPeek | None:
        data = self.objects.get(key)
        return None if data is None else ObjectPeek(key=key, size=len(data), head=data[:65536])


class Accounts:
    def __init__(self, status: str = "active") -> None:
        self.account = Account(account_id="ig1", username="someone", token_issued_at=0, token_expires_at=2**31,
                               connected_at="t", updated_at="t", status=status,  # type: ignore[arg-type]
                               reauth_reason="token revoked" if status != "active" else None)

    def get(self, account_id: str) -> Account | None:
        return self.account if account_id == "ig1" else None


class Hashtags:
    def caption_for(self, req: PostRequest, *, post_id: str) -> tuple[str, list[str]]:
        return f"{req.caption} #one #two".strip(), ["one", "two"]


@pytest.fixture
def posts() -> Iterator[PostRepository]:
    with tables("PostsTable") as t:
        yield PostRepository("PostsTable", table=t["PostsTable"])


def deps(posts: PostRepository, *, status: str = "active", media: dict[str, bytes] | None = None,
         hashtags: bool = False) -> workflow.Deps:
    return workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(status),  # type: ignore[arg-type]
                         cipher=None, client=None, media=Media(media or {}),  # type: ignore[arg-type]
                         clock=lambda: NOW, hashtags=Hashtags() if hashtags else None)


def request(**extra: Any) -> dict[str, Any]:
    return {"account_id": "ig1", "kind": "image", "caption": "hello",
            "media": [{"url": "https://cdn.example.com/a.jpg"}], **extra}


def test_a_valid_request_is_claimed_ready_with_its_first_comment(posts: PostRepository) -> None:
    out = workflow.prepare(deps(posts), "p1", request(first_comment="  first!  "), A)
    assert out == {"status": Status.READY}
    rec = posts.get("p1")
    assert rec is not None and rec.status == "creating" and rec.execution_id == A and rec.caption == "hello"
    assert rec.first_comment_text == "first!" and rec.first_comment_status == "pending"
    assert rec.account_id == "ig1" and rec.kind == "image" and rec.started_at == int(NOW)


def test_a_blank_first_comment_is_none(posts: PostRepository) -> None:
    workflow.prepare(deps(posts), "p1", request(first_comment="   "), A)
    rec = posts.get("p1")
    assert rec is not None and rec.first_comment_text is None and rec.first_comment_status is None


def test_publish_at_in_the_future_schedules_to_the_whole_second_never_early(posts: PostRepository) -> None:
    at = datetime.fromtimestamp(NOW + 60.25, UTC)
    out = workflow.prepare(deps(posts), "p1", request(publish_at=at.isoformat()), A)
    assert out == {"status": Status.SCHEDULED, "publish_at": datetime.fromtimestamp(NOW + 61, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}
    rec = posts.get("p1")
    assert rec is not None and rec.status == "scheduled"


def test_publish_at_now_or_past_publishes_at_once(posts: PostRepository) -> None:
    now = datetime.fromtimestamp(NOW, UTC).isoformat()
    assert workflow.prepare(deps(posts), "p1", request(publish_at=now), A) == {"status": Status.READY}


def test_an_invalid_request_is_recorded_failed_with_every_problem_numbered(posts: PostRepository) -> None:
    out = workflow.prepare(deps(posts), "p1", {"account_id": "ig1", "kind": "image", "media": []}, A)
    assert out["status"] == Status.FAILED and out["code"] == "invalid" and out["reason"].startswith(
        "The post request is invalid: (1) ")
    rec = posts.get("p1")
    assert rec is not None and rec.status == "failed" and rec.failure_code == "invalid"
    assert rec.account_id == "ig1" and rec.kind == "image" and rec.failure_reason == out["reason"]


def test_an_invalid_request_without_account_or_kind_is_recorded_as_unknown(posts: PostRepository) -> None:
    workflow.prepare(deps(posts), "p1", {"media": []}, A)
    rec = posts.get("p1")
    assert rec is not None and rec.account_id == "unknown" and rec.kind == "unknown"


@pytest.mark.parametrize("second", [request(), {"account_id": "ig1", "kind": "image", "media": []}])
def test_a_second_execution_is_a_duplicate_and_changes_nothing(posts: PostRepository, second: dict[str, Any]) -> None:
    assert workflow.prepare(deps(posts), "p1", request(), A) == {"status": Status.READY}
    out = workflow.prepare(deps(posts), "p1", second, B)
    assert out["status"] == Status.DUPLICATE and A in out["reason"]
    rec = posts.get("p1")
    assert rec is not None and rec.status == "creating" and rec.execution_id == A and rec.failure_reason is None


def test_a_retried_prepare_of_the_owner_is_ready_again(posts: PostRepository) -> None:
    assert workflow.prepare(deps(posts), "p1", request(), A) == {"status": Status.READY}
    assert workflow.prepare(deps(posts), "p1", request(), A) == {"status": Status.READY}


def test_an_unknown_account_is_recorded_failed_at_once(posts: PostRepository) -> None:
    out = workflow.prepare(deps(posts), "p1", request(account_id="ig2"), A)
    assert out["status"] == Status.FAILED and out["code"] == "no_account"
    rec = posts.get("p1")
    assert rec is not None and rec.status == "failed" and rec.failure_code == "no_account"


def test_an_account_that_needs_reauthorisation_fails_with_its_reason(posts: PostRepository) -> None:
    out = workflow.prepare(deps(posts, status="needs_reauth"), "p1", request(), A)
    assert out["status"] == Status.FAILED and out["code"] == "needs_reauth" and "token revoked" in out["reason"]
    rec = posts.get("p1")
    assert rec is not None and rec.status == "failed"


def test_media_in_the_bucket_is_checked(posts: PostRepository) -> None:
    good = {"a.jpg": _jpeg(1080, 1080)}
    req = request(media=[{"key": "a.jpg", "type": "image"}])
    assert workflow.prepare(deps(posts, media=good), "p1", req, A) == {"status": Status.READY}
    missing = workflow.prepare(deps(posts, media={}), "p2", req, A)
    assert missing["code"] == "invalid" and "a.jpg: no such file in the media bucket" in missing["reason"]
    # out of Instagram's specs: the PrepareMedia task makes a rendition first (igpub.media), then publishes
    bad = workflow.prepare(deps(posts, media={"a.jpg": _jpeg(1080, 300)}), "p3", req, A)
    assert bad == {"status": Status.PREPARE_MEDIA, "then": {"status": Status.READY}}


@pytest.mark.parametrize(("where", "caption", "comment"), [("caption", "hello #one #two", "first!"),
                                                           ("first_comment", "hello", "first! #one #two")])
def test_a_hashtag_pool_fills_the_caption_or_the_first_comment(posts: PostRepository, where: str, caption: str,
                                                                comment: str) -> None:
    req = request(first_comment="first!", hashtag_pool="food", hashtags_in=where)
    assert workflow.prepare(deps(posts, hashtags=True), "p1", req, A) == {"status": Status.READY}
    rec = posts.get("p1")
    assert rec is not None and rec.caption == caption and rec.first_comment_text == comment
    assert rec.hashtags == ["one", "two"]


def test_without_a_pool_the_caption_is_the_requests(posts: PostRepository) -> None:
    assert workflow.prepare(deps(posts, hashtags=True), "p1", request(first_comment="first!"), A)["status"] == \
        Status.READY
    rec = posts.get("p1")
    assert rec is not None and rec.caption == "hello" and rec.first_comment_text == "first!" and rec.hashtags == []
