"""Comments and insights through the deployed stack: posts published by the state machine, the
EngagementFunction invoked as the CLI does (igpub_cli.api), the fake Instagram as the audience."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.api.engagement import EngagementError
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from igpub_cli.main import main as cli


@pytest.fixture
def engaged(dep: Deployment, fake: FakeInstagram) -> Account:
    resp = walk_connect_flow(dep, features="comments,insights")
    assert resp.status_code == 200, resp.text
    return next(a for a in api.list_accounts(dep) if a.username == "igpub_demo")


def publish(dep: Deployment, fake: FakeInstagram, account: Account, **extra: Any) -> Any:
    request = {"account_id": account.account_id, "kind": "image",
               "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}], "caption": "engage #igpub", **extra}
    rec = api.watch_post(dep, api.submit_post(dep, request), timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    return rec


def make_due(dep: Deployment, post_id: str) -> None:
    """igpub's schedule runs on real time: move this post's next collection to now."""
    dep.table("PostsTableName").update_item(
        Key={"post_id": post_id}, UpdateExpression="SET insights_due_at = :t",
        ExpressionAttributeValues={":t": int(time.time()) - 1})


def test_insights_collected_on_schedule_and_stored_on_the_post(
    dep: Deployment, fake: FakeInstagram, engaged: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = publish(dep, fake, engaged)
    record = api.posts_repo(dep).get(rec.post_id)
    assert record is not None and record.insights_due_at is not None
    assert record.insights_due_at >= (record.published_at or 0) + 3600  # first collection 1 h after publishing
    assert api.collect_due_insights(dep)["collected"] == 0  # nothing due yet

    values: list[int] = []
    for stage, advance in (("1h", 3600), ("24h", 86_400 - 3600), ("7d", 6 * 86_400)):
        fake.advance(advance)  # the fake's clock: its metrics grow with the media's age
        make_due(dep, rec.post_id)
        report = api.collect_due_insights(dep)
        assert report["collected"] >= 1, report
        body = api.post_insights(dep, rec.post_id)
        stored = body["insights"][stage]
        assert set(stored["metrics"]) >= {"reach", "views", "likes", "comments", "saved", "shares"}
        values.append(stored["metrics"]["reach"])
    assert values == sorted(values) and values[-1] > values[0]
    final = api.posts_repo(dep).get(rec.post_id)
    assert final is not None and final.insights_due_at is None  # off the schedule after the 7-day collection
    calls = [c for c in fake.calls() if c["route"].endswith("/insights")]
    assert len(calls) == 3 and all("navigation" not in str(c["params"]) for c in calls)  # FEED metrics only
    assert cli(["insights", rec.post_id]) == 0
    out = capsys.readouterr().out
    assert "reach" in out and "7d" in out and "24h" in out
    assert cli(["insights", rec.post_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["insights"]["7d"]["metrics"]["reach"] == values[-1]


def test_insights_refresh_and_account_insights(
    dep: Deployment, fake: FakeInstagram, engaged: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = publish(dep, fake, engaged)
    fake.advance(86_400)
    fake.set_insights(rec.media_id, reach=4569)
    body = api.post_insights(dep, rec.post_id, refresh=True)
    assert body["insights"]["latest"]["metrics"]["reach"] == 4569
    account = api.account_insights(dep, engaged.account_id, metrics=["reach", "likes"])
    assert set(account["metrics"]) == {"reach", "likes"}
    assert cli(["insights", "--account", engaged.account_id]) == 0
    assert "reach" in capsys.readouterr().out


def test_comments_list_reply_hide_unhide_delete(
    dep: Deployment, fake: FakeInstagram, engaged: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = publish(dep, fake, engaged)
    fake.config(comments_page_size=2)  # several pages: the client follows them
    fan = [fake.add_comment(rec.media_id, f"comment {i}", username=f"fan{i}")["id"] for i in range(5)]
    listed = api.list_comments(dep, post_id=rec.post_id)
    assert [c["id"] for c in listed] == list(reversed(fan))
    reply_id = api.reply_comment(dep, engaged.account_id, fan[0], "Thank you!")
    listed = api.list_comments(dep, post_id=rec.post_id)
    oldest = next(c for c in listed if c["id"] == fan[0])
    assert [(r["id"], r["own"]) for r in oldest["replies"]] == [(reply_id, True)]
    assert api.hide_comment(dep, engaged.account_id, fan[1]) is True
    assert next(c for c in api.list_comments(dep, post_id=rec.post_id) if c["id"] == fan[1])["hidden"] is True
    assert api.unhide_comment(dep, engaged.account_id, fan[1]) is False
    api.delete_comment(dep, engaged.account_id, fan[2])
    remaining = {c["id"] for c in api.list_comments(dep, post_id=rec.post_id)}
    assert fan[2] not in remaining and len(remaining) == 4
    assert cli(["comments", "list", rec.post_id]) == 0
    assert "(you) @igpub_demo" in capsys.readouterr().out
    assert cli(["comments", "hide", fan[3], "--account", engaged.account_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"comment_id": fan[3], "hidden": True}
    api.set_comments_enabled(dep, False, post_id=rec.post_id)
    media = next(m for m in fake.media(engaged.account_id) if m["id"] == rec.media_id)
    assert media["comment_enabled"] is False
    with pytest.raises(EngagementError):
        api.comment_on(dep, "anyone there?", post_id=rec.post_id)


def test_comments_need_the_scope(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    rec = publish(dep, fake, account)  # connected without --with comments
    with pytest.raises(EngagementError) as info:
        api.list_comments(dep, post_id=rec.post_id)
    assert info.value.kind == "instagram"
