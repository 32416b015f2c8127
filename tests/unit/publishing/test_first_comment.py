"""The first comment's never-twice rules, offline (stub client and stores)."""

from __future__ import annotations

from typing import Any

import pytest
from test_workflow_publish import NOW, Accounts, Cipher, Posts

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import InstagramError, InvalidRequestError, NetworkError, RateLimitedError
from igpub.instagram.models import Comment
from igpub.publishing import first_comment, workflow
from igpub.publishing.request import parse_request
from igpub.repositories.posts import PostRecord

TEXT = "First! #igpub"


class Client:
    """Comments at a fake media; ``errors`` are raised by the next creates (after posting when ``posted``)."""

    def __init__(self, *errors: tuple[Exception, bool]) -> None:
        self.errors = list(errors)
        self.comments: list[Comment] = []
        self.creates = 0
        self.lists = 0

    def create_comment(self, media_id: str, token: str, message: str, **_: Any) -> str:
        self.creates += 1
        error, posted = self.errors.pop(0) if self.errors else (None, True)
        if posted:
            self.comments.append(Comment.model_validate({"id": f"c{self.creates}", "text": message,
                                                         "from": {"id": "ig1"}}))
        if error is not None:
            raise error
        return f"c{self.creates}"

    def list_comments(self, media_id: str, token: str, **_: Any) -> list[Comment]:
        self.lists += 1
        return [Comment.model_validate({"id": "x", "text": TEXT, "from": {"id": "someone-else"}}), *self.comments]


def make(client: Client, **fields: Any) -> tuple[workflow.Deps, Posts]:
    rec = PostRecord(post_id="p1", account_id="ig1", kind="image", status="published", execution_id="e1",
                     request="{}", media_id="m1", first_comment_text=TEXT, first_comment_status="pending",
                     created_at="t", updated_at="t", started_at=int(NOW), **fields)
    account = Account(account_id="ig1", username="u", token_issued_at=0, token_expires_at=int(NOW + 86400),
                      connected_at="t", updated_at="t", token_ciphertext=b"x")
    posts = Posts(rec)
    d = workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(account), cipher=Cipher(),  # type: ignore[arg-type]
                      client=client, media=None, clock=lambda: NOW)  # type: ignore[arg-type]
    return d, posts


def test_posts_once_and_records_the_attempt_first() -> None:
    client = Client()
    d, posts = make(client)
    out = first_comment.run(d, "p1")
    assert out["status"] == "commented" and out["first_comment_status"] == "posted"
    assert posts.rec.first_comment_id == "c1" and posts.rec.first_comment_attempted_at == int(NOW)
    assert first_comment.run(d, "p1")["first_comment_status"] == "posted"  # run again: nothing new
    assert client.creates == 1 and client.lists == 0


def test_dropped_answer_is_found_by_listing_not_posted_again() -> None:
    client = Client((NetworkError("connection dropped after sending"), True))
    d, posts = make(client)
    out = first_comment.run(d, "p1")
    assert out["status"] == "retry_comment" and out["wait_s"] >= 1
    assert posts.rec.first_comment_status == "pending"
    out = first_comment.run(d, "p1")
    assert out["first_comment_status"] == "posted" and posts.rec.first_comment_id == "c1"
    assert client.creates == 1 and len(client.comments) == 1


def test_error_after_creation_is_found_before_failing() -> None:
    quirk = InvalidRequestError("This API call does not support the requested response format", code=20,
                                subcode=1772107)
    client = Client((quirk, True))
    d, _ = make(client)
    out = first_comment.run(d, "p1")
    assert out["first_comment_status"] == "posted" and client.creates == 1


def test_permanent_error_fails_the_comment_not_the_post() -> None:
    client = Client((InvalidRequestError("(#100) Comments are disabled for this media", code=100), False))
    d, posts = make(client)
    out = first_comment.run(d, "p1")
    assert out["status"] == "commented" and out["first_comment_status"] == "failed"
    assert posts.rec.status == "published" and posts.rec.first_comment_reason


def test_gives_up_after_max_attempts() -> None:
    client = Client(*[(NetworkError("refused", request_sent=False), False)] * 10)
    d, posts = make(client)
    outs = [first_comment.run(d, "p1") for _ in range(first_comment.MAX_ATTEMPTS + 1)]
    assert [o["status"] for o in outs[:-2]] == ["retry_comment"] * (first_comment.MAX_ATTEMPTS - 1)
    assert outs[-2]["first_comment_status"] == "failed" and posts.rec.first_comment_reason
    assert outs[-1]["first_comment_status"] == "failed"  # decided: never tried again
    assert client.creates == first_comment.MAX_ATTEMPTS


def test_rate_limited_waits() -> None:
    client = Client((RateLimitedError("throttled", code=80002, retry_after_s=120), False))
    d, _ = make(client)
    assert first_comment.run(d, "p1") == {"status": "retry_comment", "wait_s": 120}


def test_no_first_comment_is_done_at_once() -> None:
    client = Client()
    d, posts = make(client)
    posts.rec = posts.rec.model_copy(update={"first_comment_text": None, "first_comment_status": None})
    assert first_comment.run(d, "p1")["first_comment_status"] == "none" and client.creates == 0


def test_give_up_after_an_unexpected_error_still_looks_first() -> None:
    client = Client()
    d, posts = make(client, first_comment_attempted_at=int(NOW), first_comment_attempts=1)
    client.comments.append(Comment.model_validate({"id": "c9", "text": TEXT, "from": {"id": "ig1"}}))
    out = first_comment.run(d, "p1", give_up=True, error={"Error": "Sandbox.Timedout"})
    assert out["first_comment_status"] == "posted" and client.creates == 0
    d, posts = make(Client(), first_comment_attempted_at=int(NOW), first_comment_attempts=1)
    out = first_comment.run(d, "p1", give_up=True, error={"Error": "Sandbox.Timedout"})
    assert out["first_comment_status"] == "failed" and "Sandbox.Timedout" in (posts.rec.first_comment_reason or "")


@pytest.mark.parametrize("extra,problem", [
    ({"first_comment": "#a " * 31}, "first_comment has 31 hashtags"),
    ({"first_comment": "x" * 2201}, "first_comment is 2201 characters"),
    ({"first_comment": " ".join(f"@u{i}" for i in range(21))}, "first_comment has 21 @-mentions"),
    ({"hashtags_in": "first_comment"}, "name hashtag_pool"),
    ({"kind": "story", "first_comment": "hi"}, "stories take no comments"),
])
def test_first_comment_is_validated_like_the_caption(extra: dict[str, Any], problem: str) -> None:
    from igpub.publishing.errors import RequestInvalid

    request = {"account_id": "ig1", "kind": "image", "media": [{"url": "https://x.example/a.jpg"}], **extra}
    with pytest.raises(RequestInvalid) as info:
        parse_request(request)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_instagram_error_kinds_used_here_exist() -> None:
    assert issubclass(InvalidRequestError, InstagramError)
