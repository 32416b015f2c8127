"""The first comment through the deployed publish state machine (FirstComment after Publish)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.repositories.posts import PostRecord
from igpub_cli import api
from igpub_cli import hashtags as hashtags_cli
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow


@pytest.fixture
def engaged(dep: Deployment, fake: FakeInstagram) -> Account:
    resp = walk_connect_flow(dep, features="comments")
    assert resp.status_code == 200, resp.text
    return next(a for a in api.list_accounts(dep) if a.username == "igpub_demo")


def run(dep: Deployment, fake: FakeInstagram, account: Account, **extra: Any) -> tuple[PostRecord, list[str]]:
    request = {"account_id": account.account_id, "kind": "image",
               "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}], "caption": "Launch day", **extra}
    sub = api.submit_post(dep, request)
    rec = api.watch_post(dep, sub, timeout_s=180)
    events = dep.client("stepfunctions").get_execution_history(executionArn=sub.execution_arn, maxResults=1000)
    states = [e["stateEnteredEventDetails"]["name"] for e in events["events"] if e["type"].endswith("StateEntered")]
    return rec, states


def comments_at_fake(fake: FakeInstagram, media_id: str | None) -> list[dict[str, Any]]:
    assert media_id
    found: list[dict[str, Any]] = fake.comments(media_id)
    return found


def test_first_comment_is_posted_once_after_publishing(dep: Deployment, fake: FakeInstagram, engaged: Account) -> None:
    rec, states = run(dep, fake, engaged, first_comment="More photos on our site! @friend")
    assert rec.status == "published" and rec.first_comment_status == "posted", rec.first_comment_reason
    # published inside CreateContainers (the image is ready at once), then the comment states (issue 24)
    assert states[-4:] == ["ReadyToPublish", "FirstComment", "FirstCommentDone", "Published"], states
    comments = comments_at_fake(fake, rec.media_id)
    assert [(c["id"], c["text"], c["by_owner"]) for c in comments] == [
        (rec.first_comment_id, "More photos on our site! @friend", True)]
    media = next(m for m in fake.media(engaged.account_id) if m["id"] == rec.media_id)
    assert media["caption"] == "Launch day"


def test_a_post_without_a_first_comment_never_enters_the_comment_states(
    dep: Deployment, fake: FakeInstagram, engaged: Account
) -> None:
    rec, states = run(dep, fake, engaged)
    assert rec.status == "published" and rec.first_comment_status is None
    assert not [s for s in states if s.startswith("FirstComment")], states
    # an image ready at once: 5 states (issue 24: at most 6), published by CreateContainers itself
    assert states == ["Prepare", "AfterPrepare", "CreateContainers", "ReadyToPublish", "Published"], states
    assert fake.comments(rec.media_id or "") == []


def test_dropped_comment_call_leaves_exactly_one_comment(
    dep: Deployment, fake: FakeInstagram, engaged: Account
) -> None:
    # Instagram posts the comment, then the connection drops before the answer arrives.
    fake.faults([{"kind": "drop_after", "host": "graph.instagram.com", "match": r"^POST /\d+/comments$", "times": 1}])
    rec, states = run(dep, fake, engaged, first_comment="Thanks for stopping by")
    assert rec.status == "published" and rec.first_comment_status == "posted", rec.first_comment_reason
    assert states.count("FirstComment") == 2 and "WaitBeforeComment" in states
    comments = comments_at_fake(fake, rec.media_id)
    assert len(comments) == 1 and comments[0]["id"] == rec.first_comment_id
    posts = [c for c in fake.calls() if c["method"] == "POST" and c["route"].endswith("/comments")]
    assert [c["status"] for c in posts] == ["dropped"]  # listed the comments, never posted again


def test_hashtags_go_into_the_first_comment(dep: Deployment, fake: FakeInstagram, engaged: Account) -> None:
    pool = f"fc{uuid.uuid4().hex[:6]}"
    repo = hashtags_cli.repo(dep)
    tags = ["sunset", "goldenhour", "travel", "beach", "summer"]
    for tag in tags:
        repo.put_tag(engaged.account_id, pool, tag, score=50, default_score=50, source="manual", now=int(time.time()))
    rec, _ = run(dep, fake, engaged, caption="Golden hour", first_comment="Where to next?",
                 hashtag_pool=pool, hashtag_count=5, hashtags_in="first_comment")
    assert rec.status == "published" and rec.first_comment_status == "posted"
    media = next(m for m in fake.media(engaged.account_id) if m["id"] == rec.media_id)
    assert media["caption"] == "Golden hour"  # no hashtags in the caption
    (comment,) = comments_at_fake(fake, rec.media_id)
    assert comment["text"].startswith("Where to next?")
    assert {t.lstrip("#") for t in comment["text"].split() if t.startswith("#")} == set(tags)


def test_failed_first_comment_does_not_fail_the_post(dep: Deployment, fake: FakeInstagram, engaged: Account) -> None:
    fake.faults([{"kind": "graph_error", "host": "graph.instagram.com", "match": r"^POST /\d+/comments$",
                  "code": 100, "message": "(#100) Comments are disabled for this media"}])
    rec, states = run(dep, fake, engaged, first_comment="hello")
    assert rec.status == "published" and rec.permalink
    assert rec.first_comment_status == "failed" and "disabled" in (rec.first_comment_reason or "")
    assert states[-1] == "Published"
    assert comments_at_fake(fake, rec.media_id) == []


def test_invalid_first_comment_is_refused_before_anything_is_created(
    dep: Deployment, fake: FakeInstagram, engaged: Account
) -> None:
    from igpub.publishing.errors import RequestInvalid

    fake.clear_calls()
    with pytest.raises(RequestInvalid):
        api.submit_post(dep, {"account_id": engaged.account_id, "kind": "image",
                              "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}],
                              "first_comment": " ".join(f"#t{i}" for i in range(31))})
    assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == []
