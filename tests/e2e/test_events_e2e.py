"""igpub.PostPublished and igpub.PostFailed reach a rule's target on the deployed stack: the state
machine puts them on the default bus; a rule of the test's own sends them to an SQS queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram


@pytest.fixture
def post_events(dep: Deployment) -> Iterator[str]:
    """An SQS queue receiving igpub's post events through a rule on the default bus; yields its URL."""
    sqs, events = dep.client("sqs"), dep.client("events")
    name = f"igpub-test-post-events-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=name,
        EventBusName="default",
        EventPattern=json.dumps({"source": ["igpub"], "detail-type": ["igpub.PostPublished", "igpub.PostFailed"]}),
    )
    events.put_targets(Rule=name, EventBusName="default", Targets=[{"Id": "queue", "Arn": arn}])
    yield url
    events.remove_targets(Rule=name, EventBusName="default", Ids=["queue"])
    events.delete_rule(Name=name, EventBusName="default")
    sqs.delete_queue(QueueUrl=url)


def received(dep: Deployment, queue_url: str, post_id: str, timeout: float = 30) -> dict[str, Any]:
    """The first event on the queue about this post."""
    sqs = dep.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event: dict[str, Any] = json.loads(msg["Body"])
            if event.get("detail", {}).get("post_id") == post_id:
                return event
    raise AssertionError(f"no event for post {post_id} within {timeout} s")


def test_a_published_post_is_announced_with_its_permalink(
    dep: Deployment, fake: FakeInstagram, account: Account, post_events: str
) -> None:
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}]})
    rec = api.watch_post(dep, sub, timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    event = received(dep, post_events, sub.post_id)
    assert event["source"] == "igpub"
    assert event["detail-type"] == "igpub.PostPublished"
    detail = event["detail"]
    assert detail["account_id"] == account.account_id
    assert detail["kind"] == "image"
    assert detail["permalink"] == rec.permalink and detail["permalink"].startswith("https://www.instagram.com/p/")
    assert detail["media_id"] == rec.media_id
    assert detail["execution_id"] == sub.execution_arn
    assert "token" not in json.dumps(event).lower()


def test_a_failed_post_is_announced_with_its_reason(
    dep: Deployment, fake: FakeInstagram, account: Account, post_events: str
) -> None:
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                "media": [{"url": fake.cdn("image.jpg", w=2000, h=800)}]})  # 2.5:1, refused
    rec = api.watch_post(dep, sub, timeout_s=120)
    assert rec.status == "failed"
    event = received(dep, post_events, sub.post_id)
    assert event["detail-type"] == "igpub.PostFailed"
    detail = event["detail"]
    assert detail["account_id"] == account.account_id
    assert detail["kind"] == "image"
    assert detail["reason"] == rec.failure_reason and detail["reason"]
    assert detail["code"] == rec.failure_code
    assert detail["may_be_live"] is False  # refused before any publish was sent
    # the execution still ends as a failed one, with the reason as its cause
    final = dep.client("stepfunctions").describe_execution(executionArn=sub.execution_arn)
    deadline = time.monotonic() + 30
    while final["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.3)
        final = dep.client("stepfunctions").describe_execution(executionArn=sub.execution_arn)
    assert final["status"] == "FAILED"
