"""Instagram webhooks through the deployed stack: the fake Instagram sends real deliveries to the API
Gateway route; the function checks the signature, stores each change once in DynamoDB and puts
igpub.CommentReceived / igpub.MentionReceived on the default bus (a rule here forwards them to SQS)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from igpub.accounts import Account
from igpub_cli.api import list_accounts
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from tests.conftest import SECRETS_SEEN

Drain = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def hooks(dep: Deployment, fake: FakeInstagram) -> str:
    """The fake's app-level subscription points at igpub's callback with igpub's verify token; the changes
    stored by earlier tests are forgotten (the fake's ids and accounts repeat after its reset)."""
    table = dep.table("WebhookEventsTableName")
    for item in table.scan(ProjectionExpression="pk").get("Items", []):
        table.delete_item(Key={"pk": item["pk"]})
    token = dep.client("secretsmanager").get_secret_value(SecretId=dep.output("WebhookVerifyTokenArn"))
    fake.config(webhook_callback_url=dep.output("WebhookCallbackUrl"), webhook_verify_token=token["SecretString"],
                webhook_retry_delays_seconds=[0, 60])
    SECRETS_SEEN.add(str(token["SecretString"]))  # the end-of-suite log audit looks for it too
    return str(token["SecretString"])


@pytest.fixture
def engaged(dep: Deployment, fake: FakeInstagram, hooks: str) -> Account:
    """The demo account connected with comments and webhooks: igpub enabled its webhooks."""
    resp = walk_connect_flow(dep, features="comments,insights,webhooks")
    assert resp.status_code == 200, resp.text
    assert "Webhooks: enabled" in resp.text
    return next(a for a in list_accounts(dep) if a.username == "igpub_demo")


@pytest.fixture
def bus(dep: Deployment) -> Iterator[Drain]:
    name = f"igpub-test-engage-{uuid.uuid4().hex[:8]}"
    events, sqs = dep.client("events"), dep.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(
        {"source": ["igpub"], "detail-type": ["igpub.CommentReceived", "igpub.MentionReceived"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def drain(wait_s: float = 4.0, expect: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_s
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for m in msgs:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if (len(received) >= expect and not msgs) or time.monotonic() > deadline:
                return received

    yield drain
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)
    sqs.delete_queue(QueueUrl=url)


def stored(dep: Deployment, account_id: str) -> list[dict[str, Any]]:
    table = dep.table("WebhookEventsTableName")
    items: list[dict[str, Any]] = table.scan(
        FilterExpression="account_id = :a", ExpressionAttributeValues={":a": account_id}
    ).get("Items", [])
    return items


def publish_at_fake(fake: FakeInstagram, account: Account) -> str:
    """A published media at the fake, made with the account's token (no state machine needed here)."""
    token = next(t["token"] for t in fake.tokens(account.account_id) if t["valid"] and t["kind"] == "ig_long")
    base = f"{fake.base_url}/graph.instagram.com/v25.0"
    with httpx.Client(timeout=30) as http:
        cid = http.post(f"{base}/{account.account_id}/media", data={
            "image_url": fake.cdn("image.jpg", w=1080, h=1350), "access_token": token}).json()["id"]
        media = http.post(f"{base}/{account.account_id}/media_publish",
                          data={"creation_id": cid, "access_token": token}).json()
    return str(media["id"])


def own_comment(fake: FakeInstagram, account: Account, media_id: str, text: str) -> str:
    token = next(t["token"] for t in fake.tokens(account.account_id) if t["valid"] and t["kind"] == "ig_long")
    resp = httpx.post(f"{fake.base_url}/graph.instagram.com/v25.0/{media_id}/comments",
                      data={"message": text, "access_token": token}, timeout=30)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


# ------------------------------------------------------------------------------------ tests


def test_verification_handshake(dep: Deployment, fake: FakeInstagram, hooks: str) -> None:
    assert fake.verify_webhook(challenge=987654) == {"ok": True, "status": 200, "body": "987654"}
    assert fake.verify_webhook(verify_token="not-the-token")["status"] == 403


def test_connect_with_webhooks_subscribes_the_account(dep: Deployment, fake: FakeInstagram, engaged: Account) -> None:
    assert "instagram_business_manage_comments" in engaged.scopes
    assert "instagram_business_manage_insights" in engaged.scopes
    subscribed = [c for c in fake.calls() if c["route"].endswith("/subscribed_apps") and c["method"] == "POST"]
    assert len(subscribed) == 1 and subscribed[0]["status"] == 200


def test_signed_comment_reaches_eventbridge_and_own_comment_does_not(
    dep: Deployment, fake: FakeInstagram, engaged: Account, bus: Drain
) -> None:
    media_id = publish_at_fake(fake, engaged)
    fan = fake.add_comment(media_id, "Love this!", username="a_fan")
    mention = fake.add_comment(media_id, "@igpub_demo you should see this", username="friend")
    mine = own_comment(fake, engaged, media_id, "Thanks everyone")
    report = fake.deliver_webhooks()
    assert [d["state"] for d in report] == ["delivered"] * 3, report
    events = bus(expect=2)
    kinds = sorted((e["detail-type"], e["detail"]["comment_id"]) for e in events)
    assert kinds == sorted([("igpub.CommentReceived", fan["id"]), ("igpub.MentionReceived", mention["id"])])
    received = next(e for e in events if e["detail"]["comment_id"] == fan["id"])
    assert received["source"] == "igpub" and received["detail"]["media_id"] == media_id
    assert received["detail"]["from"]["username"] == "a_fan" and received["detail"]["text"] == "Love this!"
    items = {i["comment_id"]: i for i in stored(dep, engaged.account_id)}
    assert set(items) == {fan["id"], mention["id"], mine}
    assert items[mine]["own"] is True and "event" not in items[mine]
    assert int(items[fan["id"]]["expires_at"]) > time.time() + 36 * 3600


def test_forged_and_unsigned_deliveries_are_refused_and_nothing_stored(
    dep: Deployment, fake: FakeInstagram, engaged: Account, bus: Drain
) -> None:
    change = [{"field": "comments", "value": {"from": {"id": "6000", "username": "x"}, "media": {"id": "1"},
                                               "id": f"forged-{uuid.uuid4().hex[:6]}", "text": "hi"}}]
    fake.send_webhook(change, signature="forged", user_id=engaged.account_id)
    fake.send_webhook(change, signature="missing", user_id=engaged.account_id)
    report = fake.deliver_webhooks()
    assert [d["attempts"][-1]["status"] for d in report] == [403, 403]
    assert all(d["state"] == "pending" for d in report)  # Meta would retry; still refused
    assert stored(dep, engaged.account_id) == []
    assert bus(wait_s=2, expect=0) == []


def test_retried_delivery_is_stored_once(
    dep: Deployment, fake: FakeInstagram, engaged: Account, bus: Drain
) -> None:
    fake.config(webhook_duplicates=2)  # Meta repeats a notification it already delivered
    media_id = publish_at_fake(fake, engaged)
    fan = fake.add_comment(media_id, "Again and again", username="a_fan")
    for _ in range(3):
        fake.deliver_webhooks()
    attempts = fake.webhook_deliveries()[0]["attempts"]
    assert [a["status"] for a in attempts] == [200, 200, 200]
    items = stored(dep, engaged.account_id)
    assert [i["comment_id"] for i in items] == [fan["id"]]
    assert [e["detail"]["comment_id"] for e in bus(expect=1)] == [fan["id"]]


# Meta does not document which secret signs Instagram-Login webhooks (public clients accept either): igpub
# accepts the Instagram app secret and the Meta app secret, and refuses any other key.
@pytest.mark.parametrize(
    ("signed_with", "expected"),
    [("instagram_app_secret", 200), ("meta_app_secret", 200), ("other", 403)],
)
def test_signature_made_with_either_app_secret_is_accepted_and_a_third_is_refused(
    dep: Deployment, fake: FakeInstagram, engaged: Account, bus: Drain, signed_with: str, expected: int
) -> None:
    fake.config(webhook_signed_with=signed_with, webhook_secret="a-different-secret" if signed_with == "other" else "")
    try:
        media_id = publish_at_fake(fake, engaged)
        fan = fake.add_comment(media_id, f"signed with {signed_with}", username="a_fan")
        report = fake.deliver_webhooks()
    finally:
        fake.config(webhook_signed_with="instagram_app_secret", webhook_secret="")
    assert [d["attempts"][-1]["status"] for d in report] == [expected], report
    ids = {i["comment_id"] for i in stored(dep, engaged.account_id)}
    if expected == 200:
        assert fan["id"] in ids
        assert [e["detail"]["comment_id"] for e in bus(expect=1)] == [fan["id"]]
    else:
        assert ids == set() and bus(wait_s=2, expect=0) == []
