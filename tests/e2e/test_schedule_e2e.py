"""Cancel and reschedule scheduled posts through the deployed stack (issue 13): refused once publishing
has begun, the record keeps the history, and a race with the scheduled time never both cancels and
publishes (conditional writes: the claim after the wait vs cancel/reschedule)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.publishing.errors import RequestInvalid
from igpub.repositories.posts import PostRecord
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale
from igpub_cli.main import main


def image(fake: FakeInstagram, seed: int = 1) -> dict[str, Any]:
    return {"url": fake.cdn("image.jpg", w=1080, h=1080, seed=seed)}


def wait_for(check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.1)


def status(dep: Deployment, post_id: str) -> str | None:
    rec = api.posts_repo(dep).get(post_id)
    return rec.status if rec else None


def execution(dep: Deployment, arn: str) -> dict[str, Any]:
    d: dict[str, Any] = dep.client("stepfunctions").describe_execution(executionArn=arn)
    return d


def ended(dep: Deployment, arn: str, timeout: float = 60) -> dict[str, Any]:
    wait_for(lambda: execution(dep, arn)["status"] != "RUNNING", timeout)
    return execution(dep, arn)


def entered(dep: Deployment, arn: str) -> list[str]:
    events = dep.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def ig_calls(fake: FakeInstagram) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["host"] == "graph.instagram.com" and c["method"] == "POST"]


def schedule(dep: Deployment, fake: FakeInstagram, account: Account, in_s: float, seed: int = 1) -> api.Submission:
    at = datetime.now(UTC) + timedelta(seconds=in_s)
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake, seed)],
                                "caption": f"scheduled {seed}", "publish_at": at.isoformat()})
    wait_for(lambda: status(dep, sub.post_id) == "scheduled")
    return sub


@pytest.fixture
def real_waits(emulator: str) -> None:
    set_wait_scale(emulator, 1)  # the Wait until publish_at takes its real time


def test_cancel_stops_the_waiting_execution_and_keeps_the_history(
    dep: Deployment, fake: FakeInstagram, account: Account, real_waits: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = schedule(dep, fake, account, in_s=3600)
    fake.clear_calls()
    assert main(["cancel", sub.post_id]) == 0
    out = capsys.readouterr().out
    assert "cancelled" in out and "ACTION" in out  # the history table, with its header
    assert ended(dep, sub.execution_arn)["status"] == "ABORTED"
    rec = api.posts_repo(dep).get(sub.post_id)
    assert rec is not None and rec.status == "cancelled"
    assert [(h["action"], h["from"], h["to"]) for h in rec.history] == [("cancel", "scheduled", "cancelled")]
    assert ig_calls(fake) == []
    # twice: refused with the reason, exit code 2, printed once
    assert main(["cancel", sub.post_id]) == 2
    err = capsys.readouterr().err
    assert err.count("already cancelled") == 1
    assert main(["cancel", "no-such-post"]) == 2
    assert "no post no-such-post" in capsys.readouterr().err


def test_a_cancelled_post_is_not_published_even_if_its_execution_goes_on(
    dep: Deployment, fake: FakeInstagram, account: Account, real_waits: None
) -> None:
    """The conditional claim alone: the execution is not stopped, reaches the end of its wait, finds the
    post cancelled and ends without calling Instagram."""
    sub = schedule(dep, fake, account, in_s=4)
    fake.clear_calls()
    api.cancel_post(dep, sub.post_id, stop_execution=False)
    final = ended(dep, sub.execution_arn)
    assert final["status"] == "SUCCEEDED"
    assert entered(dep, sub.execution_arn)[-1] == "Cancelled"
    assert status(dep, sub.post_id) == "cancelled"
    assert ig_calls(fake) == [] and fake.media(account.account_id) == []


def test_cancel_and_reschedule_are_refused_once_publishing_has_begun(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 100_000})
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "reel",
                                "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}]})
    wait_for(lambda: status(dep, sub.post_id) == "processing")
    assert main(["cancel", sub.post_id]) == 2
    assert "publishing of post" in capsys.readouterr().err
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert main(["reschedule", sub.post_id, "--publish-at", later]) == 2
    assert "has begun" in capsys.readouterr().err
    assert status(dep, sub.post_id) == "processing" and execution(dep, sub.execution_arn)["status"] == "RUNNING"
    dep.client("stepfunctions").stop_execution(executionArn=sub.execution_arn)
    rec = api.publish_post(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)]},
                           timeout_s=60)
    assert rec.status == "published"
    with pytest.raises(RequestInvalid, match="already published"):
        api.cancel_post(dep, rec.post_id)


def test_reschedule_moves_the_post_to_a_new_execution_and_publishes_once(
    dep: Deployment, fake: FakeInstagram, account: Account, real_waits: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = schedule(dep, fake, account, in_s=3600)
    # a time far in the past is refused like at submission
    with pytest.raises(RequestInvalid, match="2 days in the past"):
        api.reschedule_post(dep, sub.post_id, datetime.now(UTC) - timedelta(days=2))
    soon = datetime.now(UTC) + timedelta(seconds=3)
    assert main(["reschedule", sub.post_id, "--publish-at", soon.isoformat()]) == 0
    assert "moved to" in capsys.readouterr().out
    assert ended(dep, sub.execution_arn)["status"] == "ABORTED"
    rec = api.posts_repo(dep).get(sub.post_id)
    assert rec is not None and rec.status == "scheduled" and rec.execution_id.endswith(f":{sub.post_id}-r1")
    new = api.Submission(post_id=sub.post_id, execution_arn=rec.execution_id)
    rec = api.watch_post(dep, new, timeout_s=90)
    assert rec.status == "published", rec.failure_reason
    assert rec.published_at is not None and rec.published_at >= int(soon.timestamp()) - 1
    assert json.loads(rec.request)["publish_at"].startswith(soon.strftime("%Y-%m-%dT%H:%M:%S"))
    assert [h["action"] for h in rec.history] == ["reschedule"]
    assert rec.history[0]["to"].startswith(soon.strftime("%Y-%m-%dT%H:%M:%S"))
    assert len(fake.media(account.account_id)) == 1


def test_rescheduling_a_cancelled_post_revives_it_and_the_old_execution_cannot_publish(
    dep: Deployment, fake: FakeInstagram, account: Account, real_waits: None
) -> None:
    sub = schedule(dep, fake, account, in_s=3)
    api.cancel_post(dep, sub.post_id, stop_execution=False)
    moved = api.reschedule_post(dep, sub.post_id, datetime.now(UTC) + timedelta(seconds=4), stop_execution=False)
    # the old execution's wait ends first: the post is no longer its own
    assert ended(dep, sub.execution_arn)["status"] == "SUCCEEDED"
    assert entered(dep, sub.execution_arn)[-1] == "Rescheduled"
    rec = api.watch_post(dep, moved, timeout_s=90)
    assert rec.status == "published"
    assert [(h["action"], h["to"][:4] if h["action"] == "reschedule" else h["to"]) for h in rec.history] == [
        ("cancel", "cancelled"), ("reschedule", str(datetime.now(UTC).year))]
    assert len(fake.media(account.account_id)) == 1


def test_cancel_racing_the_scheduled_time_never_both_cancels_and_publishes(
    dep: Deployment, fake: FakeInstagram, account: Account, real_waits: None
) -> None:
    """Posts due at the same instant, each cancelled at a different moment around it: a cancel that
    succeeded means nothing reached Instagram for that post; a refused one means it published."""
    offsets = [-1.0, -0.3, 0.0, 0.2, 0.4, 0.7, 1.0, 2.0]
    at = datetime.now(UTC) + timedelta(seconds=12)  # time for 8 Prepare tasks on a busy machine
    subs = []
    for i in range(len(offsets)):
        subs.append(api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                          "media": [image(fake, 100 + i)], "caption": f"race {i}",
                                          "publish_at": at.isoformat()}))
    for s in subs:
        wait_for(lambda s=s: status(dep, s.post_id) is not None)
    results: dict[str, str] = {}

    def cancel_at(sub: api.Submission, offset: float) -> None:
        time.sleep(max(0.0, at.timestamp() + offset - time.time()))
        try:
            api.cancel_post(dep, sub.post_id)
            results[sub.post_id] = "cancelled"
        except RequestInvalid as exc:
            results[sub.post_id] = f"refused: {exc.problems[0]}"

    threads = [threading.Thread(target=cancel_at, args=(s, o)) for s, o in zip(subs, offsets, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final: list[PostRecord] = []
    for s in subs:
        ended(dep, s.execution_arn, timeout=120)
        rec = api.posts_repo(dep).get(s.post_id)
        assert rec is not None
        final.append(rec)
    captions = [m.get("caption") for m in fake.media(account.account_id)]
    for s, rec in zip(subs, final, strict=True):
        if results[s.post_id] == "cancelled":
            assert rec.status == "cancelled" and rec.item_containers == [], rec
            assert rec.caption not in captions
        else:
            assert "has begun" in results[s.post_id] or "already published" in results[s.post_id], results
            assert rec.status == "published", rec
            assert captions.count(rec.caption) == 1
    print("\nrace:", {o: results[s.post_id][:60] for s, o in zip(subs, offsets, strict=True)})
