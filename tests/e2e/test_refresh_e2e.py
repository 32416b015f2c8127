"""The token refresher end to end: the deployed Lambda (ministack), invoked with the sample scheduled
event, refreshing tokens at the fake Instagram; KMS, DynamoDB, EventBridge -> SQS.

Ageing a token: the fake's clock moves (``fake.advance``), igpub's clock is real time. So each test ages
the token at the fake with the fake's clock AND moves the account's recorded ``token_issued_at`` /
``token_expires_at`` back by the same amount in DynamoDB (``shift_token_times``): both sides then agree
that the token was issued N days ago, exactly as if the account had been connected N days ago. No
production code path takes a "now" override.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from igpub.publishing.errors import RequestInvalid
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from tests.conftest import publish_unchecked

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400
SCHEDULED_EVENT = json.loads((ROOT / "events" / "refresh_schedule.json").read_text())


# ------------------------------------------------------------------------------------ helpers
@pytest.fixture(autouse=True)
def no_accounts(dep: Deployment, fake: FakeInstagram) -> None:
    """Start from an empty accounts table: the fake was just reset, so the tokens of accounts left by
    earlier tests are unknown to it anyway, and the counts below are exact."""
    ddb = dep.client("dynamodb")
    table = dep.output("AccountsTableName")
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="account_id"):
        for item in page.get("Items", []):
            ddb.delete_item(TableName=table, Key={"account_id": item["account_id"]})


def connect(dep: Deployment, fake: FakeInstagram, username: str) -> str:
    fake.create_user(username)
    resp = walk_connect_flow(dep, login_as=username)
    assert resp.status_code == 200, resp.text
    return str(next(u for u in fake.users() if u["username"] == username)["user_id"])


def raw_account(dep: Deployment, account_id: str) -> dict[str, Any]:
    item = dep.client("dynamodb").get_item(
        TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": account_id}}, ConsistentRead=True
    )
    return dict(item["Item"])


def shift_token_times(dep: Deployment, account_id: str, *, issued_by: float, expires_by: float | None = None) -> None:
    """Move the recorded issue and expiry times back (test helper: 'connected N days ago')."""
    item = raw_account(dep, account_id)
    issued = int(item["token_issued_at"]["N"]) - int(issued_by)
    expires = int(item["token_expires_at"]["N"]) - int(issued_by if expires_by is None else expires_by)
    dep.client("dynamodb").update_item(
        TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": account_id}},
        UpdateExpression="SET token_issued_at = :i, token_expires_at = :e",
        ExpressionAttributeValues={":i": {"N": str(issued)}, ":e": {"N": str(expires)}},
    )


def decrypt(dep: Deployment, blob: bytes, account_id: str) -> str:
    resp = dep.client("kms").decrypt(
        CiphertextBlob=blob, EncryptionContext={"account_id": account_id, "purpose": "instagram"}
    )
    return str(resp["Plaintext"].decode())


def long_tokens(fake: FakeInstagram, user_id: str) -> list[dict[str, Any]]:
    return [t for t in fake.tokens(user_id) if t["kind"] == "ig_long"]  # oldest first


def refresh_calls(fake: FakeInstagram) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if "refresh_access_token" in json.dumps(c)]


def invoke(dep: Deployment, event: dict[str, Any]) -> dict[str, Any]:
    resp = dep.client("lambda").invoke(
        FunctionName=dep.output("RefresherFunctionName"), Payload=json.dumps(event).encode()
    )
    body: dict[str, Any] = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return body


@pytest.fixture
def reauth_events(dep: Deployment) -> Iterator[Any]:
    """An EventBridge rule on the default bus for igpub.AccountNeedsReauth -> an SQS queue (what a user
    would wire to e-mail or chat). Yields a function that returns the events received so far."""
    name = f"igpub-test-reauth-{uuid.uuid4().hex[:8]}"
    events, sqs = dep.client("events"), dep.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(
        {"source": ["igpub"], "detail-type": ["igpub.AccountNeedsReauth"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def drain(wait_s: float = 3.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_s
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for m in msgs:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if (received and not msgs) or time.monotonic() > deadline:
                return received

    yield drain
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)
    sqs.delete_queue(QueueUrl=url)


# ------------------------------------------------------------------------------------ tests
def test_scheduled_run_refreshes_due_tokens_only(dep: Deployment, fake: FakeInstagram) -> None:
    due = connect(dep, fake, "refresh_due")
    young = connect(dep, fake, "refresh_young")
    later = connect(dep, fake, "refresh_later")
    fake.advance(47 * DAY)  # at the fake, all three tokens are now 47 days old (13 days left)
    shift_token_times(dep, due, issued_by=47 * DAY)  # igpub agrees: due (13 d left) and old enough
    shift_token_times(dep, young, issued_by=0, expires_by=50 * DAY)  # due by expiry, but issued < 24 h ago
    shift_token_times(dep, later, issued_by=30 * DAY)  # 30 days left: not due
    before = {a: raw_account(dep, a) for a in (due, young, later)}
    fake.clear_calls()

    report = invoke(dep, SCHEDULED_EVENT)

    assert report["refreshed"] == 1, report
    assert report["skipped_young"] == 1
    assert report["items_read"] == 2  # the due ones only: the not-due account is never read
    assert (report["needs_reauth"], report["transient_failures"], report["failed"], report["raced"]) == (0, 0, 0, 0)
    assert not report["stopped_early"]
    assert len(refresh_calls(fake)) == 1

    # the due account holds the fake's newest token, KMS-encrypted, with a new 60-day expiry
    after = raw_account(dep, due)
    tokens = long_tokens(fake, due)
    assert len(tokens) == 2
    assert decrypt(dep, after["token_ciphertext"]["B"], due) == tokens[-1]["token"]
    assert tokens[-1]["token"].encode() not in after["token_ciphertext"]["B"]
    now = time.time()
    assert abs(int(after["token_issued_at"]["N"]) - now) < 120
    assert abs(int(after["token_expires_at"]["N"]) - (now + 60 * DAY)) < 300
    assert int(after["token_version"]["N"]) == int(before[due]["token_version"]["N"]) + 1
    assert after["status"]["S"] == "active"

    # the others are untouched, here and at the fake
    for account_id in (young, later):
        assert raw_account(dep, account_id) == before[account_id]
        assert len(long_tokens(fake, account_id)) == 1

    # a second run finds nothing old enough to do
    again = invoke(dep, SCHEDULED_EVENT)
    assert (again["refreshed"], again["items_read"], again["skipped_young"]) == (0, 1, 1)


def test_expired_token_needs_reauth_with_event(dep: Deployment, fake: FakeInstagram, reauth_events: Any) -> None:
    lapsed = connect(dep, fake, "refresh_lapsed")
    fake.advance(61 * DAY)  # the fake's token expired a day ago
    shift_token_times(dep, lapsed, issued_by=61 * DAY)
    fake.clear_calls()

    report = invoke(dep, SCHEDULED_EVENT)
    assert (report["needs_reauth"], report["refreshed"]) == (1, 0), report
    item = raw_account(dep, lapsed)
    assert item["status"]["S"] == "needs_reauth"
    assert "expired" in item["reauth_reason"]["S"]
    assert "refresh_pool" not in item  # out of the refresh index

    events = reauth_events()
    assert len(events) == 1, events
    ev = events[0]
    assert (ev["source"], ev["detail-type"]) == ("igpub", "igpub.AccountNeedsReauth")
    assert ev["detail"]["account_id"] == lapsed
    assert ev["detail"]["username"] == "refresh_lapsed"
    assert ev["detail"]["reason"] == item["reauth_reason"]["S"]
    assert (ev["detail"]["error_code"], ev["detail"]["error_subcode"]) == (190, 463)
    assert long_tokens(fake, lapsed)[0]["token"] not in json.dumps(ev)

    # no retry loop: one call to Instagram, and the next run does not read the account again
    assert len(refresh_calls(fake)) == 1
    again = invoke(dep, SCHEDULED_EVENT)
    assert (again["items_read"], again["needs_reauth"]) == (0, 0)
    assert len(refresh_calls(fake)) == 1
    assert len(reauth_events(1.5)) == 1

    # a post for the account is refused before it starts (igpub_cli.api), with the reason ...
    request = {"account_id": lapsed, "kind": "image", "caption": "hello",
               "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=1)}]}
    with pytest.raises(RequestInvalid, match=r"needs_reauth.*expired"):
        api.submit_post(dep, request)
    # ... and one started directly fails at once in the state machine, with the reason
    rec = publish_unchecked(dep, request, timeout_s=120)
    assert rec.status == "failed"
    assert "re-authorisation" in (rec.failure_reason or "") and "expired" in (rec.failure_reason or "")
    assert not fake.containers()


def test_transient_failure_leaves_the_account_for_the_next_run(dep: Deployment, fake: FakeInstagram) -> None:
    acct = connect(dep, fake, "refresh_flaky")
    fake.advance(50 * DAY)
    shift_token_times(dep, acct, issued_by=50 * DAY)
    before = raw_account(dep, acct)
    fake.faults([{"match": "refresh_access_token", "host": "graph.instagram.com", "kind": "http_503"}])

    report = invoke(dep, SCHEDULED_EVENT)
    assert (report["transient_failures"], report["refreshed"], report["needs_reauth"]) == (1, 0, 0), report
    assert raw_account(dep, acct) == before  # untouched, still active and due

    fake.clear_faults()
    report = invoke(dep, SCHEDULED_EVENT)
    assert report["refreshed"] == 1
    assert decrypt(dep, raw_account(dep, acct)["token_ciphertext"]["B"], acct) == long_tokens(fake, acct)[-1]["token"]


def test_refresh_one_account_now(dep: Deployment, fake: FakeInstagram) -> None:
    """igpub refresh ACCOUNT: refreshes now even when not due, but not a token younger than 24 h."""
    acct = connect(dep, fake, "refresh_now")
    report = api.refresh_tokens(dep, acct)
    assert report["skipped_young"] == 1 and report["details"][0]["outcome"] == "skipped_young"
    assert len(long_tokens(fake, acct)) == 1

    fake.advance(2 * DAY)
    shift_token_times(dep, acct, issued_by=2 * DAY)  # 58 days left: not due, old enough
    report = api.refresh_tokens(dep, acct)
    assert report["refreshed"] == 1, report
    assert decrypt(dep, raw_account(dep, acct)["token_ciphertext"]["B"], acct) == long_tokens(fake, acct)[-1]["token"]

    assert api.refresh_tokens(dep, "17840000000000000")["details"][0]["outcome"] == "not_found"
