"""Publishing end to end on the local stack: Step Functions (ministack) -> publisher Lambda ->
the fake Instagram, for every kind, every failure the issue names, and the never-twice rules."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from igpub.accounts import Account
from igpub.publishing.errors import RequestInvalid
from igpub.repositories.posts import PostRecord
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale, walk_connect_flow
from tests.conftest import clear_usage, execution_ended, publish_unchecked


def image(fake: FakeInstagram, **kw: Any) -> dict[str, Any]:
    return {"url": fake.cdn("image.jpg", w=kw.pop("w", 1080), h=kw.pop("h", 1080), **kw)}


def history(dep: Deployment, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = dep.client("stepfunctions").get_execution_history(
        executionArn=arn, maxResults=1000
    )["events"]
    return events


def entered(dep: Deployment, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history(dep, arn) if e["type"].endswith("StateEntered")]


def run(dep: Deployment, request: dict[str, Any], timeout: float = 120) -> tuple[PostRecord, api.Submission]:
    sub = api.submit_post(dep, request)
    return api.watch_post(dep, sub, timeout_s=timeout), sub


def published_media(fake: FakeInstagram, account: Account) -> list[dict[str, Any]]:
    media: list[dict[str, Any]] = fake.media(account.account_id)
    return media


def ig_calls(fake: FakeInstagram) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["host"] == "graph.instagram.com"]


# ------------------------------------------------------------------------------ each kind
def test_image_ready_at_once_publishes_without_waiting(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.clear_calls()
    rec, sub = run(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)],
                         "caption": "hello #igpub", "user_tags": [{"username": "friend", "x": 0.5, "y": 0.5}]})
    assert rec.status == "published", rec.failure_reason
    assert rec.permalink and rec.permalink.startswith("https://www.instagram.com/p/")
    states = entered(dep, sub.execution_arn)
    assert "WaitForProcessing" not in states
    assert states[-1] == "Published"
    calls = ig_calls(fake)
    assert len(calls) <= 4, calls
    media = published_media(fake, account)
    assert len(media) == 1 and media[0]["id"] == rec.media_id
    assert media[0]["caption"] == "hello #igpub"


def test_carousel_of_three_from_url_and_bucket(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "IMAGE": 0.3})
    photo = httpx.get(fake.cdn("image.jpg", w=1080, h=1080, seed=3), timeout=10).content
    key = f"tests/{uuid.uuid4().hex}.jpg"
    dep.client("s3").put_object(Bucket=dep.output("MediaBucketName"), Key=key, Body=photo)
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "carousel", "caption": "three",
                         "media": [{"key": key, "alt_text": "from the bucket"}, image(fake, seed=1),
                                   image(fake, seed=2)]})
    assert rec.status == "published", rec.failure_reason
    assert len(rec.item_containers) == 3 and rec.parent_container
    containers = {c["id"]: c for c in fake.containers()}
    assert containers[rec.parent_container]["status_code"] == "PUBLISHED"
    # the bucket item was handed to Instagram as a presigned URL of the media bucket
    first = json.dumps(containers[rec.item_containers[0]])
    assert dep.output("MediaBucketName") in first and "Signature" in first
    assert len(published_media(fake, account)) == 1


def test_reel_runs_the_wait_loop(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 1.5})
    rec, sub = run(dep, {"account_id": account.account_id, "kind": "reel", "caption": "reel",
                         "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}], "share_to_feed": True})
    assert rec.status == "published", rec.failure_reason
    states = entered(dep, sub.execution_arn)
    assert states.count("WaitForProcessing") >= 1
    assert rec.status_checks >= 2
    assert "/reel/" in (rec.permalink or "")


def test_story(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "story", "media": [image(fake, w=1080, h=1920)]})
    assert rec.status == "published", rec.failure_reason


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("request_patch", "expected"),
    [
        ({"kind": "carousel"}, "2"),
        ({"caption": "x" * 2201}, "2200"),
        ({"caption": " ".join(f"#t{i}" for i in range(31))}, "30"),
        ({"caption": " ".join(f"@u{i}" for i in range(21))}, "20"),
        ({"media": [{"url": "ftp://example.com/a.jpg"}]}, "https"),
        ({"collaborators": ["a", "b", "c", "d"]}, "3"),
        ({"kind": "story", "caption": "no"}, "caption"),
        ({"cover_url": "https://example.com/c.jpg"}, "reel"),
    ],
)
def test_invalid_requests_never_reach_instagram(
    dep: Deployment, fake: FakeInstagram, account: Account, request_patch: dict[str, Any], expected: str
) -> None:
    fake.clear_calls()
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake)], **request_patch}
    with pytest.raises(RequestInvalid) as info:
        api.submit_post(dep, request)
    assert expected in str(info.value)
    # the state machine validates too: started directly with the same input, it fails with the reason
    arn = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=f"bad-{uuid.uuid4().hex}",
        input=json.dumps({"post_id": uuid.uuid4().hex, "request": request}),
    )["executionArn"]
    final = execution_ended(dep, arn, timeout=60)
    assert final["status"] == "FAILED"
    assert "invalid" in final.get("cause", "")
    assert ig_calls(fake) == []


def test_missing_bucket_media_is_invalid(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.clear_calls()
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "image", "media": [{"key": "nope/missing.jpg"}]})
    assert rec.status == "failed"
    assert "no such file" in (rec.failure_reason or "")
    assert ig_calls(fake) == []


# ------------------------------------------------------------------------------ failures
def test_error_container_fails_with_instagrams_reason(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    rec, sub = run(dep, {"account_id": account.account_id, "kind": "reel",
                         "media": [{"url": fake.cdn("missing.mp4")}]})
    assert rec.status == "failed"
    assert "could not process" in (rec.failure_reason or "")
    assert "2207052" in (rec.failure_reason or "") or "fetch" in (rec.failure_reason or "").lower()
    final = execution_ended(dep, sub.execution_arn, timeout=60)
    assert final["status"] == "FAILED" and "could not process" in final.get("cause", "")


def test_sync_image_error_is_reported(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "image",
                       "media": [{"url": fake.cdn("image.jpg", w=2000, h=800)}]})  # 2.5:1
    assert rec.status == "failed"
    assert "aspect ratio" in (rec.failure_reason or "").lower()
    assert published_media(fake, account) == []


def test_expired_container_fails(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 100_000})
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "reel",
                                "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}]})
    _wait_for(lambda: (api.posts_repo(dep).get(sub.post_id) or _none()).status_checks >= 2)
    fake.advance(24 * 3600 + 60)
    rec = api.watch_post(dep, sub, timeout_s=60)
    assert rec.status == "failed"
    assert "expired" in (rec.failure_reason or "")


def test_too_many_checks_fails(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 100_000})
    rec, sub = run(dep, {"account_id": account.account_id, "kind": "reel",
                         "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}]}, timeout=240)
    assert rec.status == "failed"
    assert rec.status_checks == 60
    assert "60 status checks" in (rec.failure_reason or "")
    assert entered(dep, sub.execution_arn).count("WaitForProcessing") == 59


def _none() -> Any:
    raise AssertionError("no record")


def _wait_for(cond: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except AssertionError:
            pass
        time.sleep(0.2)
    raise TimeoutError("condition not met")


def test_quota_full_waits_until_a_slot_frees(
    dep: Deployment, fake: FakeInstagram, account: Account, emulator: str
) -> None:
    fake.config(quota_total=1)
    first, _ = run(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake, seed=1)]})
    assert first.status == "published"
    set_wait_scale(emulator, 4 / 86400)  # a 24 h wait takes about 4 s
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake, seed=2)]})
    _wait_for(lambda: (api.posts_repo(dep).get(sub.post_id) or _none()).waiting_for == "quota")
    fake.advance(24 * 3600 + 1)  # the first post leaves Instagram's 24 h window
    rec = api.watch_post(dep, sub, timeout_s=60)
    assert rec.status == "published", rec.failure_reason
    assert "WaitForQuota" in entered(dep, sub.execution_arn)
    assert any(c["route"].endswith("/content_publishing_limit") for c in fake.calls())
    assert len(published_media(fake, account)) == 2


def test_throttling_mid_flow_waits_and_goes_on(
    dep: Deployment, fake: FakeInstagram, account: Account, emulator: str
) -> None:
    set_wait_scale(emulator, 0.002)  # each round of the minutes-long block's Wait takes about a second
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 0.5})
    fake.faults([{"match": r"^GET /\d+$", "kind": "throttle", "code": 80002, "times": 1}])
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "reel",
                                "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}]})
    # the throttle blocks the account for minutes of real time; this test's Wait states are scaled,
    # so the state machine goes round WaitRateLimitedCheck several times meanwhile ...
    _wait_for(lambda: entered(dep, sub.execution_arn).count("WaitRateLimitedCheck") >= 3)
    calls = ig_calls(fake)
    throttled = [i for i, c in enumerate(calls) if c["fault"] == "throttle"]
    assert len(throttled) == 1
    # ... without calling Instagram again while it is blocked (calling on extends a real block)
    assert calls[throttled[0] + 1:] == []
    clear_usage(dep)  # the block's time has passed
    rec = api.watch_post(dep, sub, timeout_s=60)
    assert rec.status == "published", rec.failure_reason


# ------------------------------------------------------------------------------ never twice
def test_dropped_publish_connection_publishes_exactly_once(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    fake.faults([{"match": r"^POST /\d+/media_publish$", "kind": "drop_after", "times": 1}])
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)],
                         "caption": "dropped"})
    assert rec.status == "published", rec.failure_reason
    media = published_media(fake, account)
    assert len(media) == 1
    assert rec.media_id == media[0]["id"]
    publishes = [c for c in fake.calls() if c["route"].endswith("/media_publish")]
    assert len(publishes) == 1  # verified through the container's status, not published again


def test_same_client_post_id_publishes_once(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    post_id = f"campaign-{uuid.uuid4().hex[:8]}"
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake)], "client_post_id": post_id}
    first = api.submit_post(dep, request)
    second = api.submit_post(dep, request)
    assert first.execution_arn == second.execution_arn
    # a second execution under another name, same post id: it must end as a duplicate
    other = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=f"{post_id}-again",
        input=json.dumps({"post_id": post_id, "request": request}),
    )["executionArn"]
    rec = api.watch_post(dep, first, timeout_s=60)
    assert rec.status == "published"
    assert execution_ended(dep, other, timeout=60)["status"] == "SUCCEEDED"
    assert "Duplicate" in entered(dep, other)
    assert len(published_media(fake, account)) == 1


def test_scheduled_post_waits_for_publish_at(dep: Deployment, fake: FakeInstagram, account: Account,
                                             emulator: str) -> None:
    set_wait_scale(emulator, 1)
    at = datetime.now(UTC) + timedelta(seconds=4)
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)],
                                "publish_at": at.isoformat()})
    _wait_for(lambda: (api.posts_repo(dep).get(sub.post_id) or _none()).status == "scheduled", timeout=20)
    assert published_media(fake, account) == []
    rec = api.watch_post(dep, sub, timeout_s=60)
    assert rec.status == "published"
    assert rec.published_at is not None and rec.published_at >= int(at.timestamp()) - 1
    assert "WaitUntilPublishAt" in entered(dep, sub.execution_arn)


def test_account_needing_reauth_fails_at_once(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    dep.client("dynamodb").update_item(
        TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": account.account_id}},
        UpdateExpression="SET #s = :s, reauth_reason = :r", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "needs_reauth"}, ":r": {"S": "the token expired"}},
    )
    fake.clear_calls()
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake)]}
    with pytest.raises(RequestInvalid, match="reconnect it"):  # igpub_cli.api refuses before starting
        api.submit_post(dep, request)
    # a caller that starts the execution directly: the state machine checks too
    rec = publish_unchecked(dep, request, timeout_s=60)
    assert rec.status == "failed"
    assert "re-authorisation" in (rec.failure_reason or "") and "the token expired" in (rec.failure_reason or "")
    assert ig_calls(fake) == []


def test_token_revoked_at_instagram_marks_the_account_and_fails_the_post(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    """Instagram refuses the token mid-flow (the user changed their password: code 190, subcode 460): the
    post fails asking to reconnect, and the publisher marks the account as needing re-authorisation."""
    fake._ok(fake.http.post(f"/_fake/users/{account.account_id}/revoke", json={"subcode": 460}))
    rec, _ = run(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)]})
    assert rec.status == "failed" and rec.failure_code == "needs_reauth", rec
    assert "Reconnect the account" in (rec.failure_reason or "")
    item = dep.table("AccountsTableName").get_item(Key={"account_id": account.account_id})["Item"]
    assert item["status"] == "needs_reauth"
    assert published_media(fake, account) == []


# ------------------------------------------------------------------------------ fault run
def test_fault_run_of_100_posts(dep: Deployment, fake: FakeInstagram, emulator: str) -> None:
    """100 posts over 5 accounts (20 each keeps every account inside its 200 calls/hour budget) while
    the fake injects random transient faults: every post ends published or failed with a reason,
    none is published twice. (Throttles have their own test: they pause an account in real time.)"""
    fake.config(quota_total=1000, processing_seconds={**fake.get_config()["processing_seconds"], "IMAGE": 0.2})
    accounts = []
    for i in range(5):
        fake.create_user(f"fault_run_{i}")
        assert walk_connect_flow(dep, login_as=f"fault_run_{i}").status_code == 200
    accounts = [a for a in api.list_accounts(dep) if a.username.startswith("fault_run_")]
    assert len(accounts) == 5
    fake.faults([
        {"match": r"^GET /", "host": "graph.instagram.com", "kind": "http_500", "probability": 0.05, "seed": 1},
        {"match": r"^GET /\d+$", "kind": "transient_read", "probability": 0.05, "seed": 2},
        {"match": r"^POST /\d+/media$", "kind": "http_503", "probability": 0.05, "seed": 3},
        {"match": r"^POST /\d+/media_publish$", "kind": "drop_after", "probability": 0.1, "seed": 4},
        {"match": r"^POST /\d+/media_publish$", "kind": "http_500", "probability": 0.05, "seed": 5},
        {"match": r"^POST /\d+/media_publish$", "kind": "drop_before", "probability": 0.05, "seed": 6},
    ])
    requests = [{"account_id": accounts[i % 5].account_id, "kind": "image", "media": [image(fake, seed=i)],
                 "caption": f"fault run {i}"} for i in range(100)]
    # a real account runs 100 executions at once; this 2-core machine runs a Python process per
    # concurrent Lambda invocation, so the harness keeps 8 posts in flight
    records = api.publish_many(dep, requests, max_in_flight=8, timeout_s=600)
    statuses = Counter(r.status for r in records)
    media = [m for a in accounts for m in published_media(fake, a)]
    per_caption = Counter(m["caption"] for m in media)
    twice = sum(1 for n in per_caption.values() if n > 1)
    lost = sum(1 for r in records if r.status not in ("published", "failed"))
    without_reason = sum(1 for r in records if r.status == "failed" and not r.failure_reason)
    fired = {f["kind"]: f["fired"] for f in fake.get_faults()}
    print(f"\nfault run: posts=100 published={statuses['published']} failed={statuses['failed']} "
          f"published_twice={twice} lost={lost} failed_without_reason={without_reason} faults_fired={fired}")
    assert twice == 0
    assert lost == 0
    assert without_reason == 0
    assert statuses["published"] == len(media)
    assert statuses["published"] >= 80
    assert sum(fired.values()) >= 10  # the faults really happened
