"""The minimal examples the protocol's model found (or the issue's holes, written as the model's steps), kept as
fixed scenarios in the same world (protocol_model.py): each failed on the code before issue 18's fixes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from igpub.publishing.errors import RequestInvalid
from tests.unit.publishing.protocol_model import World, offline_aws, request_for


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with offline_aws(monkeypatch):
        w = World()
        yield w
        w.close()


def _until(world: World, ex: object, state: str) -> None:
    for _ in range(50):
        if getattr(ex, "state", None) == state or not getattr(ex, "live", False):
            return
        world.run(ex)  # type: ignore[arg-type]
        world.check()
    raise AssertionError(f"never reached {state}")


def test_an_invalid_duplicate_does_not_fail_a_published_post(world: World) -> None:
    # hole 1, the model's first minimal example: first(p1, now); start(p1, invalid); teardown
    world.start("a", {"post_id": "p1", "request": request_for(world, "now")})
    world.start("b", {"post_id": "p1", "request": request_for(world, "invalid")})
    world.drain()
    world.check_final()
    assert world.records()["p1"]["status"] == "published"
    assert not [e for e in world.events if e["DetailType"] == "igpub.PostFailed"]
    # the events the publisher itself sends are what the model checks (one PostPublished, from A)
    assert [(e["Detail"]["post_id"], e["_execution"].rsplit(":", 1)[-1]) for e in world.events
            if e["DetailType"] == "igpub.PostPublished"] == [("p1", "a")]


def test_an_invalid_duplicate_does_not_touch_a_scheduled_post(world: World) -> None:
    # hole 1: B's invalid request while A waits for publish_at
    a = world.start("a", {"post_id": "p1", "request": request_for(world, "scheduled")})
    world.run(a)  # Prepare: scheduled
    b = world.start("b", {"post_id": "p1", "request": request_for(world, "invalid")})
    world.run(b)
    world.check()
    world.run(b)  # B's RecordFailure must not write A's record
    world.check()
    world.drain()
    world.check_final()
    assert world.records()["p1"]["status"] == "published"


def test_an_unexpected_error_in_a_duplicate_does_not_fail_the_owner(world: World) -> None:
    # hole 1 through RecordUnexpected: B's Prepare keeps failing on AWS until its retries are spent
    a = world.start("a", {"post_id": "p1", "request": request_for(world, "scheduled")})
    world.run(a)
    b = world.start("b", {"post_id": "p1", "request": request_for(world, "now")})
    while b.state == "Prepare":
        world.arm_aws_fault(0, "before")
        world.run(b)
    world.drain()
    world.check_final()
    assert world.records()["p1"]["status"] == "published"


@pytest.mark.parametrize("fault", ["empty_2xx", "5xx_permanent_acted"])
def test_a_publish_answer_that_is_not_definitive_is_verified(world: World, fault: str) -> None:
    # hole 2: media_publish acted, then answered 2xx without a media id / a non-transient 5xx
    a = world.start("a", {"post_id": "p1", "request": request_for(world, "now")})
    _until(world, a, "Publish")
    world.arm_ig_fault("POST media_publish", fault)
    world.run(a)
    world.check()
    world.drain()
    world.check_final()
    rec = world.records()["p1"]
    assert len(world.media_of("p1")) == 1
    assert rec["status"] == "published" or "may be live" in str(rec.get("failure_reason", "")).lower()


def test_a_recovered_publish_never_takes_another_posts_media(world: World) -> None:
    # hole 3: two posts with the same caption; p1's media_publish acted but its answer was lost
    a = world.start("a", {"post_id": "p1", "request": request_for(world, "now")})
    b = world.start("b", {"post_id": "p2", "request": request_for(world, "now")})
    _until(world, a, "Publish")
    _until(world, b, "Publish")
    world.arm_ig_fault("POST media_publish", "drop_after")
    world.run(a)  # p1 is live, igpub does not know its media id
    world.advance(5)
    world.run(b)  # p2 publishes later: the newest media with that caption
    world.check()
    world.drain()
    world.check_final()


@pytest.mark.parametrize("lands_after_s", [0, 10, 119])
def test_a_first_comment_that_lands_late_is_not_made_twice(world: World, lands_after_s: int) -> None:
    # hole 6: the comment's create is still running at Instagram when igpub gives up; it lands within the
    # verify delay, while igpub retries
    a = world.start("a", {"post_id": "p1", "request": request_for(world, "comment")})
    _until(world, a, "FirstComment")
    world.arm_ig_fault("POST comments", "late")
    gave_up = world.now
    world.run(a)
    world.check()
    while a.state == "FirstComment" and a.wake_at <= gave_up + lands_after_s:
        world.run(a)  # the next attempts before it lands
        world.check()
    world.advance(gave_up + lands_after_s - world.now)
    assert world.late, "the late create is still in flight"
    world.land_late(0)
    world.check()
    world.drain()
    world.check_final()
    media = world.media_of("p1")
    assert len(world.own_comments_on({m.id for m in media})) == 1


def test_a_reschedule_whose_new_execution_does_not_start_leaves_no_stuck_post(world: World) -> None:
    # hole 5: the record is handed to the new execution and the old one stopped before start_execution fails
    from igpub_cli import api

    a = world.start("a", {"post_id": "p1", "request": request_for(world, "scheduled")})
    world.run(a)
    world.fail_next_start = True
    at = datetime.fromtimestamp(max(world.now, datetime.now(UTC).timestamp()) + 900, UTC)
    with pytest.raises((ClientError, RequestInvalid, RuntimeError)):
        api.reschedule_post(world.dep, "p1", at)  # type: ignore[arg-type]
    world.drain()
    world.check_final()


def test_the_model_catches_a_post_failed_event_for_a_live_post(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events invariant reads what the publisher sends: a task that announced failure for a post it
    published is a violation (the check of the check)."""
    from tests.unit.publishing.protocol_model import Violation, publisher_app

    real = publisher_app._announce

    def also_failed(event: object, outcome: dict[str, object]) -> None:
        if outcome.get("status") in ("published", "published_comment"):
            publisher_app._events().post_outcome("igpub.PostFailed", {"post_id": "p1", "reason": "a wrong event"})
        real(event, outcome)

    monkeypatch.setattr(publisher_app, "_announce", also_failed)
    world.start("a", {"post_id": "p1", "request": request_for(world, "now")})
    with pytest.raises(Violation, match="PostFailed was sent for post p1, which is live"):
        world.drain()
        world.check()
