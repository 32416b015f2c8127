"""Hashtags end to end: Facebook Login through API Gateway at the fake, discovery through the deployed
HashtagsFunction, pool hashtags appended by the publish state machine, and the 30-per-7-days budget
under 20 parallel discoveries.

Clocks: igpub's budget runs on real time, the fake's on its own clock. To cross the 7-day window the
concurrency test advances the fake's clock AND ages igpub's budget item in DynamoDB by the same amount
(what a week of waiting would do to it), so the deployed code runs unchanged: there is deliberately no
"now" override in the function's event, which would let any caller spend a budget it has not got.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.config import Config

from igpub.accounts import Account
from igpub.publishing.captions import find_hashtags
from igpub.publishing.errors import RequestInvalid
from igpub_cli import api
from igpub_cli import hashtags as hashtags_cli
from igpub_cli.api import create_invite
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from tests.conftest import clear_usage, publish_unchecked, sample_event_invite

WEEK = 7 * 86400
ROOT = Path(__file__).resolve().parents[2]


def pk(account_id: str) -> dict[str, Any]:
    return {"S": f"ACCOUNT#{account_id}"}


def clear_hashtags(dep: Deployment, account_id: str) -> None:
    ddb = dep.client("dynamodb")
    table = dep.output("HashtagsTableName")
    items = ddb.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk(account_id)}
    )["Items"]
    for item in items:
        ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def demo_user(fake: FakeInstagram) -> dict[str, Any]:
    return next(u for u in fake.users() if u["username"] == "igpub_demo")


@pytest.fixture
def ig_id(dep: Deployment, fake: FakeInstagram) -> Iterator[str]:
    """The demo account's Instagram id, with no hashtag data left from earlier tests."""
    uid = str(demo_user(fake)["user_id"])
    clear_hashtags(dep, uid)
    yield uid
    clear_hashtags(dep, uid)


def facebook_connect(dep: Deployment, **authorize_params: str) -> httpx.Response:
    """GET /connect/facebook -> the fake's Facebook Login dialog -> the callback, like a browser."""
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        first = http.get(create_invite(dep, facebook=True).url)
        assert first.status_code == 302, first.text
        dialog = first.headers["location"]
        if authorize_params:
            dialog += "&" + "&".join(f"{k}={v}" for k, v in authorize_params.items())
        consent = http.get(dialog)
        assert consent.status_code == 302, consent.text
        return http.get(consent.headers["location"].split("#", 1)[0])  # browsers never send the fragment


def raw_connection(dep: Deployment, account_id: str) -> dict[str, Any]:
    item = dep.client("dynamodb").get_item(
        TableName=dep.output("HashtagsTableName"), Key={"pk": pk(account_id), "sk": {"S": "FACEBOOK"}},
        ConsistentRead=True,
    )
    return dict(item.get("Item") or {})


def live_at_fake(fake: FakeInstagram, user_id: str) -> list[str]:
    now = float(httpx.get(f"{fake.base_url}/_fake/clock", timeout=10).json()["now"])
    data = httpx.get(f"{fake.base_url}/_fake/hashtags", timeout=10).json()["data"].get(user_id, [])
    return [h["name"] for h in data if h["first_query"] > now - WEEK]


def image(fake: FakeInstagram, seed: int) -> dict[str, Any]:
    return {"url": fake.cdn("image.jpg", w=1080, h=1080, seed=seed)}


# ------------------------------------------------------------------------------ Facebook Login
def test_facebook_login_stores_the_user_token_encrypted_for_the_linked_instagram_account(
    dep: Deployment, fake: FakeInstagram, ig_id: str
) -> None:
    first = httpx.get(create_invite(dep, facebook=True).url, follow_redirects=False, timeout=30)
    assert first.status_code == 302
    dialog = urlsplit(first.headers["location"])
    assert dialog.path.endswith("/dialog/oauth")
    query = parse_qs(dialog.query)
    assert query["client_id"] == ["igpub-local-fb-app"]
    assert query["redirect_uri"] == [dep.output("FacebookRedirectUri")]
    assert "instagram_basic" in query["scope"][0] and query["state"][0]

    resp = facebook_connect(dep)
    assert resp.status_code == 200, resp.text
    assert ig_id in resp.text and "Facebook Login connected" in resp.text

    item = raw_connection(dep, ig_id)
    blob = item["token_ciphertext"]["B"]
    fb_tokens = [t["token"] for t in fake.tokens(ig_id) if t["kind"] == "fb_long"]
    assert len(fb_tokens) == 1
    assert fb_tokens[0].encode() not in blob and all(fb_tokens[0] not in str(v) for v in item.values())
    assert fb_tokens[0] not in resp.text
    kms = dep.client("kms")
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"account_id": ig_id, "purpose": "facebook"})
    assert plain["Plaintext"].decode() == fb_tokens[0]
    with pytest.raises(Exception, match="InvalidCiphertext"):  # not usable as the Instagram Login token
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"account_id": ig_id, "purpose": "instagram"})
    assert 59 * 86400 < int(item["token_expires_at"]["N"]) - time.time() <= 60 * 86400
    assert item["page_name"]["S"] == "igpub_demo Page"


def test_facebook_callback_refuses_instagram_states_replays_and_denials(
    dep: Deployment, fake: FakeInstagram, ig_id: str
) -> None:
    # a state made by GET /connect (Instagram Login) cannot complete the Facebook callback
    ig_authorize = httpx.get(create_invite(dep).url, follow_redirects=False, timeout=30).headers["location"]
    ig_state = parse_qs(urlsplit(ig_authorize).query)["state"][0]
    fake.clear_calls()
    wrong = httpx.get(dep.output("FacebookRedirectUri"), params={"state": ig_state, "code": "x"}, timeout=30)
    assert wrong.status_code == 400 and "not valid" in wrong.text
    # replaying a used callback
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        dialog = http.get(create_invite(dep, facebook=True).url).headers["location"]
        callback = http.get(dialog).headers["location"].split("#", 1)[0]
        assert http.get(callback).status_code == 200
        fake.clear_calls()
        replay = http.get(callback)
    assert replay.status_code == 400
    assert [c for c in fake.calls() if c["host"] == "graph.facebook.com"] == []
    # the user cancels at Facebook
    clear_hashtags(dep, ig_id)
    fake.config(consent_mode="deny")
    denied = facebook_connect(dep)
    assert denied.status_code == 400 and "not granted" in denied.text
    assert raw_connection(dep, ig_id) == {}


def test_discovery_needs_facebook_login(dep: Deployment, fake: FakeInstagram, ig_id: str) -> None:
    with pytest.raises(hashtags_cli.HashtagsError, match="connect --facebook"):
        hashtags_cli.discover(dep, ig_id, ["coffee"])
    assert live_at_fake(fake, ig_id) == []


# ------------------------------------------------------------------------------ the main path
def test_connect_discover_and_publish_with_fifteen_pool_hashtags(
    dep: Deployment, fake: FakeInstagram, account: Account, ig_id: str
) -> None:
    assert account.account_id == ig_id
    assert facebook_connect(dep).status_code == 200
    seeds = [f"sunset{i}" for i in range(18)] + ["Beach", "travel"]
    found = hashtags_cli.discover(dep, ig_id, seeds, pool="summer")
    assert sorted(found["added"]) == sorted(seeds)
    assert all(r["counted"] and 0 < r["score"] <= 100 for r in found["results"])
    assert sorted(live_at_fake(fake, ig_id)) == sorted(s.lower() for s in seeds)
    budget = hashtags_cli.budget(dep, ig_id)
    assert budget["used"] == 20 and budget["remaining"] == 10
    assert all(s["frees_at"] == s["first_search"] + WEEK for s in budget["slots"])
    # repeats are free: the same seeds again take no new slot, at Instagram or here
    again = hashtags_cli.discover(dep, ig_id, ["beach", "travel"], pool="summer")
    assert [r["counted"] for r in again["results"]] == [False, False]
    assert hashtags_cli.budget(dep, ig_id)["used"] == 20
    pool = {t.tag.casefold(): t for t in hashtags_cli.repo(dep).pool(ig_id, "summer")}
    assert set(pool) == {s.lower() for s in seeds}

    captions = []
    for i in range(2):
        rec, _sub = run_post(dep, fake, account, caption=f"Golden hour #mine{i}", pool="summer", seed=i)
        media = next(m for m in fake.media(account.account_id) if m["id"] == rec.media_id)
        captions.append(media["caption"])
        tags = find_hashtags(media["caption"])
        assert tags[0] == f"mine{i}"
        added = tags[1:]
        assert len(added) == 15 and all(t.casefold() in pool for t in added)
        assert rec.hashtags == added
        assert media["caption"].startswith(f"Golden hour #mine{i}\n\n#")
    first, second = (set(find_hashtags(c)[1:]) for c in captions)
    assert first != second  # consecutive posts rotate
    best = max(pool.values(), key=lambda t: t.score).tag
    assert best in first


def run_post(dep: Deployment, fake: FakeInstagram, account: Account, *, caption: str, pool: str,
             seed: int, count: int | None = None) -> tuple[Any, Any]:
    request: dict[str, Any] = {"account_id": account.account_id, "kind": "image", "media": [image(fake, seed)],
                               "caption": caption, "hashtag_pool": pool}
    if count is not None:
        request["hashtag_count"] = count
    sub = api.submit_post(dep, request)
    rec = api.watch_post(dep, sub, timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    return rec, sub


def test_a_post_asking_for_an_empty_pool_goes_out_without_hashtags(
    dep: Deployment, fake: FakeInstagram, account: Account, ig_id: str
) -> None:
    request = {"account_id": account.account_id, "kind": "image", "media": [image(fake, 7)],
               "caption": "No pool yet", "hashtag_pool": "empty"}
    with pytest.raises(RequestInvalid, match="hashtag pool 'empty' does not exist"):  # the CLI/api refuse it
        api.submit_post(dep, request)
    # a caller that starts the execution directly: the post goes out without pool hashtags
    rec = publish_unchecked(dep, request, timeout_s=120)
    assert rec.status == "published", rec.failure_reason
    media = next(m for m in fake.media(account.account_id) if m["id"] == rec.media_id)
    assert media["caption"] == "No pool yet" and rec.hashtags == []


def test_hand_made_pool_and_an_explicit_count(
    dep: Deployment, fake: FakeInstagram, account: Account, ig_id: str
) -> None:
    repo = hashtags_cli.repo(dep)
    for i in range(40):
        repo.put_tag(ig_id, "manual", f"tag{i}", score=100 - i, default_score=50, source="manual", now=0)
    existing = " ".join(f"#own{i}" for i in range(25))
    rec, _ = run_post(dep, fake, account, caption=existing, pool="manual", seed=8, count=10)
    media = next(m for m in fake.media(account.account_id) if m["id"] == rec.media_id)
    assert len(find_hashtags(media["caption"])) == 30  # 25 already there + 5, never more than 30
    assert rec.hashtags == [f"tag{i}" for i in range(5)]


# ------------------------------------------------------------------------------ the budget under load
def discover_raw(dep: Deployment, ig_id: str, seeds: list[str]) -> dict[str, Any]:
    # one attempt, a long read timeout: on a loaded machine 20 parallel invocations can outlast boto3's
    # default 60 s, and a retried invoke would run a second discovery beside the first
    client = dep.client("lambda", config=Config(read_timeout=600, retries={"max_attempts": 1}))
    resp = client.invoke(
        FunctionName=dep.output("HashtagsFunctionName"),
        Payload=json.dumps({"action": "discover", "account_id": ig_id, "seeds": seeds, "pool": "load"}),
    )
    body: dict[str, Any] = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return body


def age_budget(dep: Deployment, ig_id: str, seconds: int) -> None:
    """What `seconds` of waiting does to igpub's budget item (its clock is real time, the fake's is not)."""
    ddb = dep.client("dynamodb")
    key = {"pk": pk(ig_id), "sk": {"S": "BUDGET"}}
    item = ddb.get_item(TableName=dep.output("HashtagsTableName"), Key=key, ConsistentRead=True)["Item"]
    aged = {t: {"N": str(int(v["N"]) - seconds)} for t, v in item["searches"]["M"].items()}
    ddb.update_item(
        TableName=dep.output("HashtagsTableName"), Key=key,
        UpdateExpression="SET searches = :s, #v = #v + :one", ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":s": {"M": aged}, ":one": {"N": "1"}},
    )


def test_twenty_parallel_discoveries_never_exceed_thirty_unique_searches_in_seven_days(
    dep: Deployment, fake: FakeInstagram, ig_id: str
) -> None:
    assert facebook_connect(dep).status_code == 200
    rng = random.Random(42)
    fake.config(hourly_call_budget=5000)  # this test is about the hashtag budget, not call-rate limits

    def wave(prefix: str) -> list[dict[str, Any]]:
        tags = [f"{prefix}{i}" for i in range(40)]
        seed_sets = [rng.sample(tags, 4) for _ in range(20)]  # overlapping: 80 seeds, ~35 unique tags
        with ThreadPoolExecutor(max_workers=20) as pool:
            return list(pool.map(lambda s: discover_raw(dep, ig_id, s), seed_sets))

    fake.clear_calls()
    results = wave("alpha")
    live = live_at_fake(fake, ig_id)
    assert len(live) == 30, live  # filled up, never over
    statuses = [c["status"] for c in fake.calls() if c["path"].endswith("ig_hashtag_search")]
    assert statuses and all(s == 200 for s in statuses)  # igpub never made a search Instagram refused
    counted = [r["tag"].lower() for body in results for r in body["results"] if r["counted"]]
    assert sorted(counted) == sorted(live)  # each unique tag took exactly one slot
    skipped = [r for body in results for r in body["results"] if r["status"] == "skipped"]
    assert skipped and all("next slot frees" in r["reason"] for r in skipped)
    assert hashtags_cli.budget(dep, ig_id)["used"] == 30

    # a week later (both clocks), the next wave gets a fresh 30
    fake.advance(WEEK + 60)
    age_budget(dep, ig_id, WEEK + 60)
    clear_usage(dep)  # igpub's hourly call counter (real time) would have emptied in a week too
    assert hashtags_cli.budget(dep, ig_id)["used"] == 0
    fake.clear_calls()
    wave("beta")
    live = live_at_fake(fake, ig_id)
    assert len(live) == 30 and all(t.startswith("beta") for t in live)
    statuses = [c["status"] for c in fake.calls() if c["path"].endswith("ig_hashtag_search")]
    assert all(s == 200 for s in statuses)
    assert hashtags_cli.budget(dep, ig_id)["used"] == 30


# ------------------------------------------------------------------------------ the sample events
def invoke_event(dep: Deployment, function_name: str, name: str) -> dict[str, Any]:
    payload = (ROOT / "events" / f"{name}.json").read_text()
    resp = dep.client("lambda").invoke(FunctionName=function_name, Payload=payload)
    body: dict[str, Any] = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return body


def test_sample_events_run_on_the_deployed_functions(dep: Deployment, fake: FakeInstagram) -> None:
    hashtags_fn = dep.output("HashtagsFunctionName")
    budget = invoke_event(dep, hashtags_fn, "hashtags_budget")
    assert budget["status"] == "ok" and budget["budget"]["limit"] == 30
    discover = invoke_event(dep, hashtags_fn, "hashtags_discover")
    assert discover["status"] == "error" and discover["error"] == "not_connected"
    # the template has no output for the OAuth function: find it by its logical name
    functions = dep.client("lambda").list_functions()["Functions"]
    oauth_fn = next(f["FunctionName"] for f in functions if f"{dep.stack}-OAuthFunction" in f["FunctionName"])
    sample_event_invite(dep, "oauth_connect_facebook", flow="facebook")
    connect = invoke_event(dep, oauth_fn, "oauth_connect_facebook")
    assert connect["statusCode"] == 302
    assert "/dialog/oauth?" in connect["multiValueHeaders"]["Location"][0]
    callback = invoke_event(dep, oauth_fn, "oauth_facebook_callback")
    assert callback["statusCode"] == 400  # the sample's state was never issued
