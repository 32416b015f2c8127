"""Meta's deauthorize and data deletion callbacks through the deployed stack: the fake Instagram plays the
person who removes the app or asks for deletion, and POSTs signed requests to igpub's routes on API Gateway
(https://developers.facebook.com/docs/apps/delete-data). Forged requests change nothing; a deauthorized
account never publishes again; after a deletion no table and no object of the bucket names the person."""

from __future__ import annotations

import json
import re
import time
import uuid
from base64 import b64encode
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow
from igpub_cli.main import main as cli
from tests.e2e.test_hashtags_e2e import facebook_connect
from tests.e2e.test_people_e2e import as_role, people, refused  # noqa: F401 (fixtures: one IAM user per role)

FORGED = [{"signature": "wrong_secret"}, {"algorithm": "HMAC-SHA1"}, {"algorithm": "none"}, {"tamper": True},
          {"signature": "missing"}]


@pytest.fixture(scope="module", autouse=True)
def _forget_deletion_requests(dep: Deployment) -> Iterator[None]:
    """Deletion requests are kept 90 days by design; the tests that follow this module start without them."""
    yield
    table = dep.table("DeletionRequestsTableName")
    for item in table.scan(ProjectionExpression="pk").get("Items", []):
        table.delete_item(Key={"pk": item["pk"]})


@pytest.fixture
def callbacks(dep: Deployment, fake: FakeInstagram) -> FakeInstagram:
    """The fake's App Dashboard: igpub's four callback URLs registered."""
    fake.config(deauthorize_callback_url=dep.output("DeauthorizeCallbackUrl"),
                data_deletion_callback_url=dep.output("DataDeletionRequestUrl"),
                fb_deauthorize_callback_url=dep.output("FacebookDeauthorizeCallbackUrl"),
                fb_data_deletion_callback_url=dep.output("FacebookDataDeletionRequestUrl"))
    return fake


@pytest.fixture
def connected(dep: Deployment, callbacks: FakeInstagram) -> Account:
    resp = walk_connect_flow(dep, features="comments,insights,webhooks")
    assert resp.status_code == 200, resp.text
    return next(a for a in api.list_accounts(dep) if a.username == "igpub_demo" and a.status == "active")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray) or hasattr(value, "value"):
        raw = bytes(value.value if hasattr(value, "value") else value)
        return "b64:" + b64encode(raw).decode()
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def tables(dep: Deployment) -> dict[str, list[str]]:
    """Every item of every table of the deployment (as sorted JSON), keyed by output name."""
    out: dict[str, list[str]] = {}
    for key in sorted(k for k in dep.outputs if k.endswith("TableName")):
        table, items, kwargs = dep.table(key), [], {}
        while True:
            resp = table.scan(ConsistentRead=True, **kwargs)
            items += [json.dumps(_plain(i), sort_keys=True) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        out[key] = sorted(items)
    return out


def bucket(dep: Deployment) -> dict[str, bytes]:
    s3, name = dep.client("s3"), dep.output("MediaBucketName")
    objects = s3.list_objects_v2(Bucket=name).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=name, Key=o["Key"])["Body"].read() for o in objects}


def snapshot(dep: Deployment) -> dict[str, Any]:
    return {"tables": tables(dep), "bucket": sorted(bucket(dep))}


def traces(dep: Deployment, ids: list[str], username: str) -> list[str]:
    """Where the person's ids or username still appear (whole ids, whole usernames)."""
    pattern = re.compile("|".join([rf"(?<![0-9]){re.escape(i)}(?![0-9])" for i in ids if i]
                                  + [rf"(?<![A-Za-z0-9._]){re.escape(username)}(?![A-Za-z0-9_])"]), re.I)
    found = [f"{name}: {item[:300]}" for name, items in tables(dep).items() for item in items if pattern.search(item)]
    for key, body in bucket(dep).items():
        if pattern.search(key) or pattern.search(body.decode("latin-1")):
            found.append(f"bucket: {key}")
    return found


def deletion_done(dep: Deployment, url: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        page = httpx.get(url, timeout=30)
        if "Deletion complete" in page.text or time.monotonic() > deadline:
            return page.text
        time.sleep(1)


def raw_account(dep: Deployment, account_id: str) -> dict[str, Any]:
    item = dep.table("AccountsTableName").get_item(Key={"account_id": account_id}, ConsistentRead=True)
    return dict(item.get("Item") or {})


@pytest.fixture
def bus(dep: Deployment) -> Iterator[Any]:
    """igpub.AccountDeauthorized events, forwarded to a queue of this test."""
    name = f"igpub-test-deauth-{uuid.uuid4().hex[:8]}"
    events, sqs = dep.client("events"), dep.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["igpub"],
                                                        "detail-type": ["igpub.AccountDeauthorized"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])

    def drain(wait_s: float = 20.0) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not got:
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                got.append(json.loads(m["Body"]))
        return got

    yield drain
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)
    sqs.delete_queue(QueueUrl=url)


def schedule(dep: Deployment, fake: FakeInstagram, account: Account, *, in_s: float, caption: str) -> api.Submission:
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + in_s))
    return api.submit_post(dep, {"account_id": account.account_id, "kind": "image", "caption": caption,
                                 "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}], "publish_at": at})


def wait_scheduled(dep: Deployment, sub: api.Submission) -> None:
    deadline = time.monotonic() + 60
    while (rec := api.posts_repo(dep).get(sub.post_id)) is None or rec.status != "scheduled":
        assert time.monotonic() < deadline, "the post was never scheduled"
        time.sleep(0.5)
    time.sleep(1)  # Prepare's last writes


# ------------------------------------------------------------------------------------------ forged requests


@pytest.mark.parametrize("action", ["remove_app", "request_deletion"])
@pytest.mark.parametrize("login", ["instagram", "facebook"])
def test_forged_requests_are_refused_alike_and_change_nothing(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, action: str, login: str
) -> None:
    if login == "facebook":
        assert facebook_connect(dep).status_code == 200
    wait_scheduled(dep, schedule(dep, callbacks, connected, in_s=3600, caption="scheduled before the forgeries"))
    before = snapshot(dep)
    answers = []
    for variant in FORGED:
        out = getattr(callbacks, action)("igpub_demo", login=login, revoke=False, **variant)
        answers.append((out["status"], out["answer"]))
    assert answers == [(400, {"error": "invalid signed_request"})] * len(FORGED)
    assert snapshot(dep) == before
    assert api.accounts_repo(dep).get(connected.account_id).status == "active"  # type: ignore[union-attr]


def test_a_valid_request_about_a_stranger_is_answered_like_any_other(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    callbacks.create_user("never_connected")
    before = snapshot(dep)
    for login in ("instagram", "facebook"):
        out = callbacks.remove_app("never_connected", login=login)
        assert (out["status"], out["answer"]) == (200, {"ok": True})
    assert snapshot(dep) == before
    known = callbacks.remove_app("igpub_demo", login="facebook")  # known person, but no Facebook Login
    assert (known["status"], known["answer"]) == (200, {"ok": True})


# ------------------------------------------------------------------------------------------ deauthorize


@pytest.mark.parametrize("which_id", ["user_id", "id"])
def test_removing_the_app_deauthorizes_the_account_and_ends_its_scheduled_posts(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, bus: Any, which_id: str
) -> None:
    assert facebook_connect(dep).status_code == 200
    sub = schedule(dep, callbacks, connected, in_s=3600, caption="never goes out")
    wait_scheduled(dep, sub)

    out = callbacks.remove_app("igpub_demo", id=which_id)
    assert (out["status"], out["answer"]) == (200, {"ok": True})
    assert out["revoked"] >= 1 and all(not t["valid"] for t in callbacks.tokens(connected.account_id)
                                       if t["kind"].startswith("ig"))

    item = raw_account(dep, connected.account_id)
    assert item["status"] == "deauthorized" and item["deauthorized_by"] == "instagram"
    assert "token_ciphertext" not in item and "refresh_pool" not in item
    post = api.posts_repo(dep).get(sub.post_id)
    assert post is not None and post.status == "failed" and post.failure_code == "deauthorized"
    assert "removed igpub's access" in (post.failure_reason or "")
    assert dep.client("stepfunctions").describe_execution(executionArn=sub.execution_arn)["status"] == "ABORTED"
    hashtags = dep.table("HashtagsTableName").get_item(
        Key={"pk": f"ACCOUNT#{connected.account_id}", "sk": "FACEBOOK"}).get("Item")
    assert hashtags is None  # the Facebook Login token and Page went with it
    (event,) = [e for e in bus() if e["detail"]["account_id"] == connected.account_id]
    assert sub.post_id in event["detail"]["posts_ended"] and event["detail"]["login"] == "instagram"

    again = callbacks.remove_app("igpub_demo", id=which_id)  # Meta may send it twice: harmless
    assert again["status"] == 200 and raw_account(dep, connected.account_id)["status"] == "deauthorized"
    with pytest.raises(api.RequestInvalid, match="deauthorized"):
        api.submit_post(dep, {"account_id": connected.account_id, "kind": "image",
                              "media": [{"url": callbacks.cdn("image.jpg", w=1080, h=1080)}]})


def test_facebook_login_removal_deletes_only_the_facebook_connection(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    assert facebook_connect(dep).status_code == 200
    key = {"pk": f"ACCOUNT#{connected.account_id}", "sk": "FACEBOOK"}
    assert dep.table("HashtagsTableName").get_item(Key=key).get("Item", {}).get("facebook_user_id")
    out = callbacks.remove_app("igpub_demo", login="facebook")
    assert (out["status"], out["answer"]) == (200, {"ok": True})
    assert dep.table("HashtagsTableName").get_item(Key=key).get("Item") is None
    assert raw_account(dep, connected.account_id)["status"] == "active"  # Instagram Login is another grant


DECISION_GAP_S = 2.0  # the last account read -> media_publish at the fake, on a loaded emulator

@pytest.mark.parametrize("offset_s", [-1.0, 0.0, 0.5, 1.5, 3.0])
def test_a_deauthorization_racing_a_scheduled_post_never_publishes_after_it_is_recorded(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, emulator: str, offset_s: float
) -> None:
    """The post is due in a few seconds; the person removes the app around that moment. The fake keeps the
    token valid (revoke=False) so that igpub alone must hold the post back. Whatever the interleaving, a
    media_publish the fake received is earlier than the deauthorization igpub recorded."""
    from igpub_cli.local import set_wait_scale

    set_wait_scale(emulator, 1.0)  # real waits: publish_at is what races
    try:
        sub = schedule(dep, callbacks, connected, in_s=6, caption=f"race {offset_s}")
        time.sleep(max(0.0, 6 + offset_s - 0.3))
        out = callbacks.remove_app("igpub_demo", revoke=False)
        assert out["status"] == 200
        rec = api.watch_post(dep, sub, timeout_s=180)
    finally:
        set_wait_scale(emulator, 0.02)
    recorded = datetime.fromisoformat(raw_account(dep, connected.account_id)["deauthorized_at"]).timestamp()
    publishes = [c for c in callbacks.calls() if c["route"].endswith("/media_publish") and c["status"] == 200]
    media = callbacks.media(connected.account_id)
    print(f"race offset {offset_s}: {rec.status}")
    # never decided after the record: the one documented gap is a publish whose last account read came just
    # before the record and whose request arrives just after it (README, "Going Live": between that read and
    # the request sits the per-account call-budget write); a request decided later would arrive much later
    late = [round(c["time"] - recorded, 3) for c in publishes if c["time"] >= recorded]
    assert all(d < DECISION_GAP_S for d in late), (late, publishes, recorded)
    if rec.status == "published":
        assert len(media) == 1 and len(publishes) == 1
    else:
        assert rec.status == "failed" and rec.failure_code == "deauthorized", rec.failure_reason
        assert media == [] and publishes == []


# ------------------------------------------------------------------------------------------ data deletion


def _seed_everything(dep: Deployment, fake: FakeInstagram, account: Account, tmp_path: Path) -> api.PostRecord:
    """Data about the person in every place igpub keeps some: a published post (media id, permalink, a
    first comment, insights, an uploaded file), a webhook comment, hashtag pools, usage, the Facebook
    connection, the invite that connected them."""
    assert facebook_connect(dep).status_code == 200
    assert cli(["hashtags", "add", "travel", "sunrise", "beach", "--account", account.account_id]) == 0
    photo = tmp_path / f"{account.username}.jpg"
    photo.write_bytes(httpx.get(fake.cdn("image.jpg", w=1080, h=1080), timeout=10).content)
    key = api.upload_media(dep, photo, prefix=f"uploads/{uuid.uuid4().hex}")
    rec = api.watch_post(dep, api.submit_post(dep, {
        "account_id": account.account_id, "kind": "image", "caption": f"hello from @{account.username}",
        "media": [{"key": key}], "first_comment": "first!", "hashtag_pool": "travel"}), timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    if rec.media_id:
        fake.add_comment(rec.media_id, f"@{account.username} love it", username="a_fan")
        fake.deliver_webhooks()
    return rec


def test_a_deletion_request_deletes_everything_about_the_person(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, tmp_path: Path
) -> None:
    token = dep.client("secretsmanager").get_secret_value(SecretId=dep.output("WebhookVerifyTokenArn"))
    callbacks.config(webhook_callback_url=dep.output("WebhookCallbackUrl"), webhook_verify_token=token["SecretString"])
    s3, name = dep.client("s3"), dep.output("MediaBucketName")
    for key in bucket(dep):  # what earlier tests left (the fake's users and ids repeat after its reset)
        s3.delete_object(Bucket=name, Key=key)
    rec = _seed_everything(dep, callbacks, connected, tmp_path)
    me = next(u for u in callbacks.users() if u["username"] == "igpub_demo")
    ids = [me["user_id"], me["id"], me["fb_user_id"], me["page_id"], rec.media_id or ""]
    assert traces(dep, ids, "igpub_demo")  # the scan finds what is there

    out = callbacks.request_deletion("igpub_demo")
    assert out["status"] == 200 and set(out["answer"]) == {"url", "confirmation_code"}
    code = out["answer"]["confirmation_code"]
    assert re.fullmatch(r"[A-Z0-9]{24}", code) and out["answer"]["url"].endswith(f"?code={code}")
    assert out["answer"]["url"].startswith(dep.output("DataDeletionStatusUrl"))
    page = deletion_done(dep, out["answer"]["url"])
    assert "Deletion complete" in page and code in page

    assert traces(dep, ids, "igpub_demo") == []
    kept = api.posts_repo(dep).get(rec.post_id)  # the team's accounting keeps the post, without Meta data
    assert kept is not None and kept.account_id == f"deleted-{code}" and kept.media_id is None
    assert kept.permalink is None and kept.insights == {} and kept.item_containers == []
    assert kept.caption.startswith("hello from @(deleted)") and "#beach" in kept.caption and kept.status == "published"

    second = callbacks.request_deletion("igpub_demo", id="id")  # either id, again: the first code, harmless
    assert second["answer"]["confirmation_code"] == code
    assert "Deletion complete" in deletion_done(dep, second["answer"]["url"])
    assert traces(dep, ids, "igpub_demo") == []


def test_a_facebook_deletion_request_deletes_the_facebook_connection_and_searches(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    assert facebook_connect(dep).status_code == 200
    me = next(u for u in callbacks.users() if u["username"] == "igpub_demo")
    out = callbacks.request_deletion("igpub_demo", login="facebook")
    assert out["status"] == 200
    assert "Deletion complete" in deletion_done(dep, out["answer"]["url"])
    assert traces(dep, [me["fb_user_id"], me["page_id"]], "igpub_demo_page_unused") == []
    assert raw_account(dep, connected.account_id)["status"] == "active"


def test_the_status_page_for_an_unknown_code(dep: Deployment) -> None:
    resp = httpx.get(dep.output("DataDeletionStatusUrl"), params={"code": "A" * 24}, timeout=30)
    assert resp.status_code == 404 and "Unknown confirmation code" in resp.text


# ------------------------------------------------------------------------------------------ igpub disconnect


def test_igpub_disconnect_asks_then_deauthorizes_and_deletes(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = schedule(dep, callbacks, connected, in_s=3600, caption="operator test")
    wait_scheduled(dep, sub)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    assert cli(["disconnect", connected.account_id]) == 2  # said no: nothing changed
    assert raw_account(dep, connected.account_id)["status"] == "active"
    assert cli(["disconnect", connected.account_id, "--yes"]) == 0
    assert "1 scheduled post(s) ended" in capsys.readouterr().out
    assert raw_account(dep, connected.account_id)["deauthorized_by"] == "operator"
    post = api.posts_repo(dep).get(sub.post_id)
    assert post is not None and post.status == "failed" and "igpub disconnect" in (post.failure_reason or "")
    assert cli(["accounts"]) == 0
    out = capsys.readouterr().out
    assert "deauthorized" in out and "@igpub_demo" in out
    assert cli(["disconnect", connected.account_id, "--delete-data", "--yes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["deletion_result"]["status"] == "done" and result["deletion_result"]["summary"]["accounts"] == 1
    assert cli(["accounts", "--json", "--deleted"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert all(a["username"] != "igpub_demo" for a in listed)
    assert any(a["status"] == "data_deleted" and a["confirmation_code"] == result["deletion"]["code"] for a in listed)
    assert cli(["disconnect", connected.account_id, "--yes"]) == 2  # gone: unknown now


def _being_processed(dep: Deployment, callbacks: FakeInstagram, connected: Account, caption: str) -> api.Submission:
    """A post claimed for publishing whose container is still processing at Instagram (for 4 s)."""
    callbacks.config(processing_seconds={"IMAGE": 4.0})
    sub = api.submit_post(dep, {"account_id": connected.account_id, "kind": "image", "caption": caption,
                                "media": [{"url": callbacks.cdn("image.jpg", w=1080, h=1080)}]})
    deadline = time.monotonic() + 60
    while (rec := api.posts_repo(dep).get(sub.post_id)) is None or not rec.item_containers:
        assert time.monotonic() < deadline, "no container was created"
        time.sleep(0.2)
    return sub


def test_a_post_being_processed_when_the_app_is_removed_fails_at_its_next_step(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    """Claimed for publishing before the deauthorization (its container is processing at Instagram): the
    deauthorization leaves it to its execution, whose next step finds the account deauthorized."""
    sub = _being_processed(dep, callbacks, connected, "in flight")
    out = callbacks.remove_app("igpub_demo", revoke=False)  # the token still works at Instagram
    assert out["status"] == 200
    final = api.watch_post(dep, sub, timeout_s=120)
    assert final.status == "failed" and final.failure_code == "deauthorized", final.failure_reason
    assert "disconnected from igpub" in (final.failure_reason or "")
    assert callbacks.media(connected.account_id) == []
    assert not [c for c in callbacks.calls() if c["route"].endswith("/media_publish")]


def test_a_deletion_during_a_publish_waits_for_it_to_end_then_deletes(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    """The person asks for deletion while a post is being processed (its execution runs): the deletion asks
    Step Functions whether that execution still runs (DescribeExecution), waits for its next step to fail the
    post (the account was deauthorized first), then rewrites it without Meta data; nothing is published."""
    sub = _being_processed(dep, callbacks, connected, "being processed")
    out = callbacks.request_deletion("igpub_demo")
    assert out["status"] == 200, out
    code = out["answer"]["confirmation_code"]
    page = deletion_done(dep, out["answer"]["url"])
    assert "Deletion complete" in page
    kept = api.posts_repo(dep).get(sub.post_id)
    assert kept is not None and kept.account_id == f"deleted-{code}", kept
    assert kept.status == "failed" and kept.media_id is None and kept.item_containers == []
    assert callbacks.media(connected.account_id) == []
    assert not [c for c in callbacks.calls() if c["route"].endswith("/media_publish")]


def test_an_admin_disconnects_with_the_admin_policy_a_poster_cannot(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, as_role: Any  # noqa: F811
) -> None:
    """igpub disconnect under people's policies (README, People and permissions): the CLI reads the account
    without its token and invokes DataDeletionFunction; a poster may not, an admin may."""
    refused(as_role("poster").run("disconnect", connected.account_id, "--yes"), "lambda:InvokeFunction")
    assert raw_account(dep, connected.account_id)["status"] == "active"
    code, out, err = as_role("admin").run("disconnect", connected.account_id, "--delete-data", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["deletion_result"]["status"] == "done"
    assert raw_account(dep, connected.account_id) == {}
    code, out, err = as_role("viewer").run("accounts")
    assert code == 0 and "(deleted)" in out, err


@pytest.mark.parametrize("secret", ["instagram", "meta"])
def test_a_request_signed_with_either_app_secret_is_accepted(
    dep: Deployment, callbacks: FakeInstagram, connected: Account, secret: str
) -> None:
    """Meta does not say which secret signs an Instagram Login app's signed_request (the fake can use either)."""
    callbacks.config(signed_request_secret=secret)
    out = callbacks.remove_app("igpub_demo", revoke=False)
    assert (out["status"], out["answer"]) == (200, {"ok": True})
    assert raw_account(dep, connected.account_id)["status"] == "deauthorized"


def test_an_account_connected_again_after_its_deletion_publishes_with_its_new_token(
    dep: Deployment, callbacks: FakeInstagram, connected: Account
) -> None:
    """Its record starts afresh (token_version 1 again): a warm publisher must not reuse the old token."""
    request = {"account_id": connected.account_id, "kind": "image",
               "media": [{"url": callbacks.cdn("image.jpg", w=1080, h=1080)}]}
    assert api.publish_post(dep, {**request, "caption": "before"}, timeout_s=120).status == "published"
    assert callbacks.remove_app("igpub_demo")["revoked"] >= 1  # the old token answers 190 from now on
    out = callbacks.request_deletion("igpub_demo")
    assert "Deletion complete" in deletion_done(dep, out["answer"]["url"])
    assert walk_connect_flow(dep).status_code == 200
    again = api.accounts_repo(dep).get(connected.account_id)
    assert again is not None and again.status == "active" and again.token_version == 1
    rec = api.publish_post(dep, {**request, "caption": "after"}, timeout_s=120)
    assert rec.status == "published", rec.failure_reason
