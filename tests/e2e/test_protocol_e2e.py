"""Issue 18's holes end to end on the local stack (Step Functions in the emulator -> publisher Lambda ->
the fake Instagram): a second execution cannot fail the first's post, answers that hide a publish are
verified, a task run alone leaves nothing igpub cancel cannot clear, a reused post id follows its owner."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.repositories.posts import PostRecord
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale
from tests.conftest import execution_ended

PUBLISH = r"^POST /\d+/media_publish$"


def image(fake: FakeInstagram, seed: int = 1) -> dict[str, Any]:
    return {"url": fake.cdn("image.jpg", w=1080, h=1080, seed=seed)}


def start(dep: Deployment, post_id: str, name: str, request: dict[str, Any]) -> str:
    arn: str = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=name,
        input=json.dumps({"post_id": post_id, "request": request}))["executionArn"]
    return arn


def entered(dep: Deployment, arn: str) -> list[str]:
    events = dep.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def record(dep: Deployment, post_id: str) -> PostRecord:
    rec = api.posts_repo(dep).get(post_id)
    assert rec is not None
    return rec


def test_an_invalid_second_execution_cannot_fail_a_scheduled_post(
    dep: Deployment, fake: FakeInstagram, account: Account, emulator: str
) -> None:
    set_wait_scale(emulator, 1)
    post_id = f"p18-{uuid.uuid4().hex[:10]}"
    at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake)], "publish_at": at}
    first = start(dep, post_id, post_id, request)
    deadline = time.monotonic() + 30
    while (api.posts_repo(dep).get(post_id) or None) is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert record(dep, post_id).status == "scheduled"
    second = start(dep, post_id, f"{post_id}-b", {"account_id": account.account_id, "kind": "image", "media": []})
    assert execution_ended(dep, second)["status"] == "SUCCEEDED"
    assert "Duplicate" in entered(dep, second) and "EmitPostFailed" not in entered(dep, second)
    assert record(dep, post_id).status == "scheduled"
    assert execution_ended(dep, first)["status"] == "SUCCEEDED"
    rec = record(dep, post_id)
    assert rec.status == "published" and rec.failure_reason is None and len(fake.media(account.account_id)) == 1


@pytest.mark.parametrize("answer", [
    {"kind": "empty", "after": True},  # published; the answer is a 2xx without a media id
    {"kind": "http_500", "is_transient": False, "after": True},  # published; a 5xx marked not transient
    {"kind": "empty"},  # nothing published, the same answer: verified, then published once
])
def test_an_answer_that_hides_the_outcome_is_verified_and_publishes_once(
    dep: Deployment, fake: FakeInstagram, account: Account, answer: dict[str, Any]
) -> None:
    fake.faults([{"match": PUBLISH, "times": 1, **answer}])
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image", "media": [image(fake)],
                                "caption": f"hidden {answer['kind']}"})
    rec = api.watch_post(dep, sub, timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    media = fake.media(account.account_id)
    assert len(media) == 1 and rec.media_id == media[0]["id"]


def test_a_prepare_run_alone_leaves_nothing_cancel_cannot_clear(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    """What make invoke FUNCTION=PublisherFunction EVENT=events/publisher_prepare.json does, through the
    deployed function: an unknown account ends failed at once; a known one leaves creating, which cancel clears."""
    lam = dep.client("lambda")
    fn = next(f["FunctionName"] for page in lam.get_paginator("list_functions").paginate()
              for f in page["Functions"] if "PublisherFunction" in f["FunctionName"])
    event = json.loads(open("events/publisher_prepare.json").read())
    ghost = dep.output("PublishStateMachineArn").replace(":stateMachine:", ":execution:")
    for account_id, expected in (("17841400000000000", "failed"), (account.account_id, "creating")):
        post_id = f"alone-{uuid.uuid4().hex[:10]}"
        request = {**event["request"], "account_id": account_id, "media": [image(fake)]}
        payload = {**event, "post_id": post_id, "request": request, "execution_id": f"{ghost}:{post_id}"}
        out = json.loads(lam.invoke(FunctionName=fn, Payload=json.dumps(payload))["Payload"].read())
        assert record(dep, post_id).status == expected, out
    done = api.cancel_post(dep, post_id)  # the creating one: its execution never existed
    assert done.status == "cancelled" and record(dep, post_id).status == "cancelled"
    assert fake.media(account.account_id) == []


def test_a_reused_post_id_after_a_reschedule_follows_the_new_execution(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    post_id = f"reuse-{uuid.uuid4().hex[:10]}"
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake)], "client_post_id": post_id,
               "publish_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
    first = api.submit_post(dep, request)
    deadline = time.monotonic() + 30
    while (api.posts_repo(dep).get(post_id) or None) is None and time.monotonic() < deadline:
        time.sleep(0.3)
    moved = api.reschedule_post(dep, post_id, datetime.now(UTC) + timedelta(hours=3))
    assert moved.execution_arn != first.execution_arn
    again = api.submit_post(dep, request)
    assert again.execution_arn == moved.execution_arn
    api.cancel_post(dep, post_id)
