"""The holes issue 18 found in the publish protocol, each driven through the real task functions (the real
client against the fake Instagram, the posts table in moto's DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakeig.testing import FakeInstagram
from tests.unit.publishing.protocol import World, dump, world

A = "arn:aws:states:us-east-1:123456789012:execution:igpub-Publish:p1"
B = "arn:aws:states:us-east-1:123456789012:execution:igpub-Publish:p1-again"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeInstagram]:
    server = FakeInstagram()
    yield server
    server.close()


@pytest.fixture
def w(fake: FakeInstagram) -> Iterator[World]:
    with world(fake) as it:
        yield it


# ---------------------------------------------------------------- 1: a second execution cannot fail the first's post
def test_an_invalid_second_request_cannot_fail_the_first_executions_post(w: World) -> None:
    out = w.run("p1", A)  # A runs to the end: published
    assert w.rec("p1").status == "published", dump(out)
    b = w.run("p1", B, request={"account_id": w.ig_id, "kind": "image", "media": []})  # invalid
    assert b[0]["status"] == "duplicate", dump(b)
    assert w.rec("p1").status == "published" and w.rec("p1").execution_id == A


def test_a_second_execution_in_the_middle_of_the_first_changes_nothing(w: World) -> None:
    from igpub.publishing import workflow

    assert workflow.prepare(w.deps, "p1", w.request(), A)["status"] == "ready"
    first = workflow.create(w.deps, "p1", A)
    assert first["status"] in ("finished", "in_progress")
    # B: an invalid request for the same post id, then its RecordFailure (what the state machine runs next)
    b = workflow.prepare(w.deps, "p1", {"account_id": w.ig_id, "kind": "image"}, B)
    if b["status"] == "failed":
        w.record_failure("p1", B, b)
    assert w.rec("p1").status == "processing", w.rec("p1").failure_reason
    # B's unexpected error (RecordUnexpected) does not fail it either
    told = w.record_failure("p1", B, None, {"Error": "KeyError", "Cause": "boom"})
    assert told["status"] == "duplicate" and w.rec("p1").status == "processing"
    # A goes on and publishes: never failed -> published, never a PostFailed for a live post
    assert workflow.publish(w.deps, "p1", A)["status"] == "published"
    assert w.rec("p1").failure_reason is None


def test_check_and_publish_refuse_a_post_another_execution_owns(w: World) -> None:
    from igpub.publishing import workflow

    workflow.prepare(w.deps, "p1", w.request(), A)
    workflow.create(w.deps, "p1", A)
    assert workflow.check(w.deps, "p1", B)["status"] == "duplicate"
    assert workflow.publish(w.deps, "p1", B)["status"] == "duplicate"
    assert w.media() == []


def test_the_owner_still_records_its_own_failure(w: World) -> None:
    out = w.run("p1", A, request={"account_id": w.ig_id, "kind": "image", "media": []})
    assert out[-1]["status"] == "failed" and out[-1]["may_be_live"] is False
    assert w.rec("p1").status == "failed" and w.rec("p1").failure_code == "invalid"


def test_a_failure_before_any_record_is_recorded(w: World) -> None:
    told = w.record_failure("p9", A, None, {"Error": "KeyError", "Cause": "boom"})
    assert told["status"] == "failed" and w.rec("p9").status == "failed" and w.rec("p9").execution_id == A


# ---------------------------------------------- 2: after media_publish was sent, nothing is called failed unread
PUBLISH = r"^POST /\d+/media_publish$"


@pytest.mark.parametrize("answer", [
    {"kind": "graph_error", "http_status": 500, "is_transient": False, "code": 1},  # 5xx, is_transient false
    {"kind": "empty"},  # a 2xx without a body (no media id)
    {"kind": "graph_error", "code": 2, "is_transient": False, "http_status": 400},  # an error that is no refusal
])
def test_an_answer_that_hides_a_publish_is_verified_not_failed(w: World, answer: dict[str, object]) -> None:
    w.fake.faults({"match": PUBLISH, "times": 1, "after": True, **answer})
    out = w.run("p1", A)
    rec = w.rec("p1")
    assert rec.status == "published", dump(out)
    assert len(w.media()) == 1 and rec.media_id == w.media()[0]["id"]


@pytest.mark.parametrize("answer", [
    {"kind": "graph_error", "http_status": 500, "is_transient": False, "code": 1},
    {"kind": "empty"},
])
def test_the_same_answer_without_a_publish_publishes_once_after_verifying(w: World, answer: dict[str, object]) -> None:
    w.fake.faults({"match": PUBLISH, "times": 1, **answer})
    out = w.run("p1", A)
    assert w.rec("p1").status == "published", dump(out)
    assert len(w.media()) == 1
    assert any(o["status"] == "verify" for o in out)  # read the container before sending again


def test_when_the_container_cannot_be_read_the_accounts_media_confirm_the_publish(w: World) -> None:
    w.fake.faults({"match": PUBLISH, "times": 1, "after": True, "kind": "http_500", "is_transient": False},
                  {"match": r"^GET /\d+$", "kind": "http_500", "skip": 1})  # CheckContainers reads it first
    out = w.run("p1", A)
    rec = w.rec("p1")
    assert rec.status == "published" and rec.media_id == w.media()[0]["id"], dump(out)


def test_a_post_that_may_be_live_says_so_and_never_says_post_again(w: World) -> None:
    # published at Instagram, the answer a 5xx; then every read of the container and of the media fails
    w.fake.faults({"match": PUBLISH, "times": 1, "after": True, "kind": "http_500", "is_transient": False},
                  {"match": r"^GET /\d+$", "kind": "http_500", "skip": 1},  # CheckContainers reads it first
                  {"match": r"^GET /\d+/media$", "kind": "http_500"})
    out = w.run("p1", A)
    rec = w.rec("p1")
    assert rec.status == "failed" and rec.may_be_live is True, dump(out)
    assert out[-1]["may_be_live"] is True and out[-1]["reason"] == rec.failure_reason
    reason = (rec.failure_reason or "").lower()
    assert "may be live" in reason and "instagram.com/" in reason
    assert "post again" not in reason and "post it again" not in reason and "try again" not in reason


# ------------------------------ 3: a recovered publish never takes another post's media id (same or empty caption)
P2 = "arn:aws:states:us-east-1:123456789012:execution:igpub-Publish:p2"


@pytest.mark.parametrize("caption", ["same words", ""])
def test_a_recovered_publish_never_takes_another_posts_media(w: World, caption: str) -> None:
    from igpub.publishing import workflow

    # p2 publishes first (answer lost after Instagram acted), p1 then publishes normally with the same caption
    w.fake.faults({"match": PUBLISH, "times": 1, "kind": "drop_after"})
    workflow.prepare(w.deps, "p2", w.request(caption, first_comment="hi"), P2)
    assert workflow.create(w.deps, "p2", P2)["status"] == "finished"
    assert workflow.publish(w.deps, "p2", P2)["status"] == "verify"
    w.advance(1)
    assert w.run("p1", A, request=w.request(caption))[-1]["status"] == "commented"
    p1 = w.rec("p1").media_id
    w.advance(150)
    assert workflow.publish(w.deps, "p2", P2)["status"] == "published_comment"  # published; its comment is next
    p2 = w.rec("p2")
    assert p1 and p2.media_id != p1  # never the other post's media
    ids = {m["id"] for m in w.media()}
    assert p2.media_id in ids or p2.media_id is None


def test_an_ambiguous_media_is_left_unknown_and_the_first_comment_is_skipped(w: World) -> None:
    from igpub.publishing import workflow

    # two posts with one caption both lose their publish answer: neither can tell which media is its own
    w.fake.faults({"match": PUBLISH, "times": 2, "kind": "drop_after"})
    for pid, ex in (("p1", A), ("p2", P2)):
        workflow.prepare(w.deps, pid, w.request("twins", first_comment="first!"), ex)
        assert workflow.create(w.deps, pid, ex)["status"] == "finished"
        assert workflow.publish(w.deps, pid, ex)["status"] == "verify"
    w.advance(150)
    assert workflow.publish(w.deps, "p1", A)["status"] == "published"
    rec = w.rec("p1")
    assert rec.media_id is None and rec.media_id_unknown and "cannot tell" in rec.media_id_unknown
    assert rec.insights_due_at is None
    out = first_comment_run(w, "p1")
    assert out["first_comment_status"] == "failed" and "skipped" in (out.get("reason") or "")
    with w.fake.app.store.lock:
        assert not w.fake.app.store.comments  # nothing commented on a guessed media


def first_comment_run(w: World, post_id: str) -> dict[str, object]:
    from igpub.publishing import first_comment

    return dict(first_comment.run(w.deps, post_id))


# ------------------------------------------- 7: Prepare alone never leaves a post in creating with nothing to move it
def test_prepare_for_an_unknown_account_records_the_post_failed(w: World) -> None:
    from igpub.publishing import workflow

    out = workflow.prepare(w.deps, "p1", {**w.request(), "account_id": "17841400000000000"}, A)
    assert out["status"] == "failed" and out["code"] == "no_account"
    rec = w.rec("p1")
    assert rec.status == "failed" and rec.failure_code == "no_account" and rec.failure_reason == out["reason"]


def test_a_publish_in_flight_never_sends_for_a_post_cancelled_meanwhile(w: World) -> None:
    from igpub.publishing import workflow

    workflow.prepare(w.deps, "p1", w.request(), A)
    assert workflow.create(w.deps, "p1", A)["status"] == "finished"
    # igpub cancel clears the post as abandoned (its execution ended) while a Publish task is still running
    assert w.posts.abandon("p1", w.clock[0], execution_id=A, why="its execution aborted") is not None
    assert workflow.publish(w.deps, "p1", A)["status"] == "cancelled"
    assert w.media() == [] and w.rec("p1").status == "cancelled"


# ---------------------------------------------- 6: a first comment whose create lands late is not made twice
def test_a_comment_create_that_lands_after_the_client_gave_up_is_not_made_again(fake: FakeInstagram) -> None:
    import time

    with world(fake, http_timeout_s=0.3) as w:
        out = w.run("p1", A, request=w.request("with a comment", first_comment="first!"))
        assert w.rec("p1").status == "published", dump(out)
        with fake.app.store.lock:
            fake.app.store.comments.clear()
        rec = w.rec("p1")
        w.posts.update("p1", w.clock[0], first_comment_status="pending", remove=(
            "first_comment_id", "first_comment_attempted_at", "first_comment_unknown_at", "first_comment_reason"),
            first_comment_attempts=0)
        # Instagram takes 1 s to create it; igpub's client gives up after 0.3 s
        fake.faults({"match": r"^POST /\d+/comments$", "kind": "timeout", "seconds": 1.0, "times": 1})
        outs = [first_comment_run(w, "p1")]
        assert outs[0]["status"] == "retry_comment"
        w.advance(float(outs[0]["wait_s"]))  # type: ignore[arg-type]
        outs.append(first_comment_run(w, "p1"))  # the create has not landed yet: nothing to find
        time.sleep(1.2)  # now it lands
        while outs[-1]["status"] == "retry_comment":
            w.advance(float(outs[-1]["wait_s"]))  # type: ignore[arg-type]
            outs.append(first_comment_run(w, "p1"))
        assert outs[-1]["first_comment_status"] == "posted", outs
        with fake.app.store.lock:
            texts = [c.text for c in fake.app.store.comments.values() if c.media_id == rec.media_id]
        assert texts == ["first!"]  # once, though the first create landed after the client gave up
        assert [o["status"] for o in outs] == ["retry_comment", "retry_comment", "commented"]  # waited, then found
