"""igpub stops calling Instagram before Instagram blocks an account: the usage headers past the
threshold, and the 200-calls-per-hour budget, shared by every Lambda through DynamoDB."""

from __future__ import annotations

import time
from typing import Any

from igpub.accounts import Account
from igpub.repositories.usage import DynamoUsageStore
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale


def entered(dep: Deployment, arn: str) -> list[str]:
    events = dep.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def wait_for(cond: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise TimeoutError("condition not met")


def graph_calls(fake: FakeInstagram) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["host"] == "graph.instagram.com"]


def test_usage_headers_past_the_threshold_pause_the_account(
    dep: Deployment, fake: FakeInstagram, account: Account, emulator: str
) -> None:
    set_wait_scale(emulator, 0.002)  # the pause (minutes) goes by in about a second of Wait state
    # Instagram's budget for this account: 10 calls an hour; its usage headers say how much is used
    fake.config(hourly_call_budget=10, usage_headers=True,
                processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 3600})
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "reel",
                                "media": [{"url": fake.cdn("video.mp4", seconds=10, mb=1)}]})
    wait_for(lambda: "WaitRateLimitedCheck" in entered(dep, sub.execution_arn))
    calls = graph_calls(fake)
    # igpub stopped at 90 % (9 of 10 calls, the connect flow's included) and never hit Instagram's throttle
    assert all(c["status"] != 400 or c.get("fault") for c in calls), calls
    n = len(calls)
    assert n <= 10
    # the state machine goes round its Wait and checks again: refused again before anything is sent
    wait_for(lambda: entered(dep, sub.execution_arn).count("WaitRateLimitedCheck") >= 2)
    assert entered(dep, sub.execution_arn).count("CheckContainers") >= 2
    assert len(graph_calls(fake)) == n
    dep.client("stepfunctions").stop_execution(executionArn=sub.execution_arn)


def test_hourly_budget_is_shared_by_every_lambda(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    fake.config(usage_headers=False)
    store = DynamoUsageStore(dep.output("UsageTableName"), client=dep.client("dynamodb"))
    now = time.time()
    used = 0
    # 198 calls made by other invocations in the last hour (the store is the one every Lambda uses)
    while used < 198:
        assert store.acquire(account.account_id, now=now, budget=200).allowed
        used += 1
    fake.clear_calls()
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}]})
    wait_for(lambda: "WaitBeforePublishAgain" in entered(dep, sub.execution_arn))
    # the publisher made the 199th (create) and 200th (status) calls; the 201st was refused before
    # it left: media_publish never reached Instagram, and the post waits for the hour to roll
    routes = [c["route"] for c in graph_calls(fake)]
    assert len(routes) == 2, routes
    assert not any(r.endswith("/media_publish") for r in routes)
    rec = api.posts_repo(dep).get(sub.post_id)
    assert rec is not None and rec.status == "processing"
    assert not store.acquire(account.account_id, now=time.time(), budget=200).allowed
    dep.client("stepfunctions").stop_execution(executionArn=sub.execution_arn)
