"""The first comment's rules one by one (igpub.publishing.first_comment): a scripted client, the posts table in
moto's DynamoDB. The bounds (4 attempts, 10 s steps), the verify delay after an unknown create, refusals vs
unknown answers, give-up, and never twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import (
    AuthError,
    InstagramError,
    InvalidRequestError,
    NetworkError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    UnexpectedResponseError,
)
from igpub.instagram.models import Comment
from igpub.publishing import first_comment
from igpub.publishing.outcome import Status
from igpub.repositories.posts import PostRecord, PostRepository
from tests.unit.dynamo import tables

NOW = 1_800_000_000.0


class Client:
    def __init__(self) -> None:
        self.comments: list[Comment] = []
        self.creates: list[str] = []
        self.create_error: InstagramError | None = None
        self.create_acts = False  # the create posts the comment, then answers create_error
        self.list_error: InstagramError | None = None

    def list_comments(self, media_id: str, token: str, **_: Any) -> list[Comment]:
        if self.list_error is not None:
            raise self.list_error
        return list(self.comments)

    def create_comment(self, media_id: str, token: str, text: str, **_: Any) -> str:
        if self.create_error is None or self.create_acts:
            self.creates.append(text)
            self.comments.append(Comment.model_validate({"id": f"k{len(self.creates)}", "text": text,
                                                         "user": {"id": "ig1"}}))
        if self.create_error is not None:
            raise self.create_error
        return f"k{len(self.creates)}"


class Accounts:
    def __init__(self, status: str = "active") -> None:
        self.status = status

    def get(self, account_id: str) -> Account | None:
        return Account(account_id="ig1", username="someone", token_issued_at=0, token_expires_at=2**31,
                       connected_at="t", updated_at="t", status=self.status)  # type: ignore[arg-type]


class Deps:
    def __init__(self, posts: PostRepository, client: Client) -> None:
        self.posts = posts
        self.accounts = Accounts()
        self.client = client
        self.settings = Settings(publish_verify_delay_s=120, http_timeout_s=10)
        self.now = NOW

    def clock(self) -> float:
        return self.now

    def token(self, account: Account) -> str:
        return "token"


@pytest.fixture
def world() -> Iterator[tuple[Deps, Client]]:
    with tables("PostsTable") as t:
        posts = PostRepository("PostsTable", table=t["PostsTable"])
        posts.claim(PostRecord(post_id="p1", account_id="ig1", kind="image", request="{}", status="published",
                               execution_id="e", media_id="m1", first_comment_text="first!",
                               first_comment_status="pending", created_at="t", updated_at="t", started_at=0))
        client = Client()
        yield Deps(posts, client), client


def run(d: Deps, **kw: Any) -> dict[str, Any]:
    return dict(first_comment.run(d, "p1", **kw))  # type: ignore[arg-type]


def rec(d: Deps) -> PostRecord:
    r = d.posts.get("p1")
    assert r is not None
    return r


def test_posted_once_and_never_again(world: tuple[Deps, Client]) -> None:
    d, client = world
    out = run(d)
    assert out["status"] == Status.COMMENTED and out["first_comment_status"] == "posted"
    assert out["first_comment_id"] == "k1" and rec(d).first_comment_attempts == 1
    assert rec(d).first_comment_attempted_at == int(NOW)
    assert run(d)["first_comment_id"] == "k1" and client.creates == ["first!"]


def test_nothing_to_do_without_text_media_or_publish(world: tuple[Deps, Client]) -> None:
    d, client = world
    assert dict(first_comment.run(d, "nope")) == {"status": Status.COMMENTED, "first_comment_status": "none"}  # type: ignore[arg-type]
    d.posts.update("p1", NOW, status="processing")
    assert run(d)["first_comment_status"] == "pending" and client.creates == []
    d.posts.update("p1", NOW, status="published", remove=("media_id",))
    assert run(d)["first_comment_status"] == "pending" and client.creates == []


def test_an_account_gone_fails_the_comment_only(world: tuple[Deps, Client]) -> None:
    d, client = world
    d.accounts.status = "needs_reauth"
    out = run(d)
    assert out["first_comment_status"] == "failed" and "not connected" in out["reason"]
    assert rec(d).status == "published" and client.creates == []


def test_an_unknown_create_waits_out_the_verify_delay_before_another(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = NetworkError("dropped", request_sent=True)
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 10}
    assert rec(d).first_comment_unknown_at == int(NOW)
    client.create_error = None
    d.now = NOW + 10
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 110}  # looked, not found, not yet
    d.now = NOW + 119
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 1}
    assert client.creates == []
    d.now = NOW + 120
    assert run(d)["first_comment_status"] == "posted" and client.creates == ["first!"]


def test_an_unknown_create_that_landed_is_found_not_made_again(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error, client.create_acts = UnexpectedResponseError("no id"), True
    assert run(d)["status"] == Status.RETRY_COMMENT
    client.create_error = None
    d.now = NOW + 10
    out = run(d)
    assert out["first_comment_status"] == "posted" and out["first_comment_id"] == "k1" and client.creates == ["first!"]


def test_a_create_never_sent_is_made_again_at_once(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = NetworkError("refused", request_sent=False)
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 10}
    assert rec(d).first_comment_unknown_at is None
    client.create_error = None
    d.now = NOW + 10
    assert run(d)["first_comment_status"] == "posted"


def test_a_refusal_is_final_after_a_look(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = InvalidRequestError("comments are off", code=100)
    out = run(d)
    assert out["first_comment_status"] == "failed" and "comments are off" in out["reason"] and "(100)" in out["reason"]
    assert rec(d).first_comment_unknown_at is None


def test_fresh_media_is_retried(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = InvalidRequestError("does not exist", code=100, subcode=33)
    out = run(d)
    assert out == {"status": Status.RETRY_COMMENT, "wait_s": 10}
    assert "(100/33)" in str(rec(d).first_comment_reason)


def test_an_auth_error_fails_the_comment(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = AuthError("revoked", code=190)
    assert run(d)["first_comment_status"] == "failed"


def test_rate_limits_wait_as_told(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = RateLimitedError("slow", retry_after_s=33)
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 33}


def test_transient_errors_back_off_then_give_up_after_four_attempts(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = TransientError("flaky")  # unknown: the next attempt looks first, after the delay
    waits = []
    for _ in range(8):
        out = run(d)
        if out["status"] != Status.RETRY_COMMENT:
            break
        waits.append(out["wait_s"])
        d.now += out["wait_s"]
    assert out["first_comment_status"] == "failed" and "flaky" in out["reason"]
    assert rec(d).first_comment_attempts == 4 and client.creates == []
    assert waits[0] == 10


def test_a_comment_list_that_fails_waits_then_gives_up(world: tuple[Deps, Client]) -> None:
    d, client = world
    d.posts.update("p1", NOW, first_comment_attempted_at=int(NOW - 300), first_comment_attempts=2)
    client.list_error = TransientError("list down")
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 20}
    d.posts.update("p1", NOW, first_comment_attempts=4)
    out = run(d)
    assert out["first_comment_status"] == "failed" and out["reason"].startswith("could not check: ")


def test_give_up_looks_once_more_then_records_the_error(world: tuple[Deps, Client]) -> None:
    d, client = world
    d.posts.update("p1", NOW, first_comment_attempted_at=int(NOW - 5), first_comment_attempts=1,
                   first_comment_unknown_at=int(NOW - 5))
    out = run(d, give_up=True, error={"Error": "States.Timeout", "Cause": "the task timed out"})
    assert out["first_comment_status"] == "failed" and out["reason"] == "gave up after the task timed out"
    client.comments.append(Comment.model_validate({"id": "k9", "text": " first! ", "user": {"id": "ig1"}}))
    d.posts.update("p1", NOW, first_comment_status="pending")
    assert run(d, give_up=True)["first_comment_id"] == "k9"


def test_a_comment_by_someone_else_is_not_ours(world: tuple[Deps, Client]) -> None:
    d, client = world
    d.posts.update("p1", NOW, first_comment_attempted_at=int(NOW - 300), first_comment_attempts=1)
    client.comments.append(Comment.model_validate({"id": "x1", "text": "first!", "from": {"id": "999"}}))
    client.comments.append(Comment.model_validate({"id": "x2", "text": "second", "user": {"id": "ig1"}}))
    out = run(d)
    assert out["first_comment_status"] == "posted" and out["first_comment_id"] == "k1"


def test_a_comment_recorded_failed_is_never_tried_again(world: tuple[Deps, Client]) -> None:
    d, client = world
    d.posts.update("p1", NOW, first_comment_status="failed", first_comment_reason="comments are off")
    out = run(d)
    assert out["first_comment_status"] == "failed" and out["reason"] == "comments are off"
    assert client.creates == []


def test_posting_clears_the_reason_an_earlier_attempt_left(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = InvalidRequestError("does not exist", code=100, subcode=33)
    assert run(d)["status"] == Status.RETRY_COMMENT and rec(d).first_comment_reason
    client.create_error = None
    d.now = NOW + 10
    out = run(d)
    assert out["first_comment_status"] == "posted" and "reason" not in out
    assert rec(d).first_comment_reason is None


def test_a_5xx_is_unknown_whatever_its_class(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = InvalidRequestError("server said no", code=1, http_status=500)
    assert run(d) == {"status": Status.RETRY_COMMENT, "wait_s": 10}
    assert rec(d).first_comment_unknown_at == int(NOW)  # it may still land: the next attempt waits for it


def test_a_permission_refusal_is_final(world: tuple[Deps, Client]) -> None:
    d, client = world
    client.create_error = PermissionDeniedError("not allowed", code=10, http_status=400)
    out = run(d)
    assert out["first_comment_status"] == "failed" and "not allowed" in out["reason"]
    assert rec(d).first_comment_unknown_at is None and rec(d).first_comment_attempts == 1
