"""Instagram Login end to end: API Gateway (ministack) -> OAuth Lambda -> the fake's consent page ->
callback -> code exchange, long-lived exchange, /me -> KMS -> DynamoDB."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from igpub_cli.api import create_invite
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, walk_connect_flow


def raw_account(dep: Deployment, account_id: str) -> dict[str, Any]:
    item = dep.client("dynamodb").get_item(
        TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": account_id}}, ConsistentRead=True
    )
    return dict(item.get("Item") or {})


def decrypt(dep: Deployment, blob: bytes, account_id: str) -> str:
    resp = dep.client("kms").decrypt(
        CiphertextBlob=blob, EncryptionContext={"account_id": account_id, "purpose": "instagram"}
    )
    return str(resp["Plaintext"].decode())


def user(fake: FakeInstagram, username: str = "igpub_demo") -> dict[str, Any]:
    return next(u for u in fake.users() if u["username"] == username)


def start(dep: Deployment) -> str:
    """GET a fresh invite's link (/connect?invite=...); return the authorize URL it redirects to."""
    resp = httpx.get(create_invite(dep).url, follow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text
    return str(resp.headers["location"])


def consent(authorize_url: str) -> str:
    """The fake's consent page; returns the callback URL it redirects to (without the fragment)."""
    resp = httpx.get(authorize_url, follow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text
    return str(resp.headers["location"]).split("#", 1)[0]


def ig_calls(fake: FakeInstagram) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["host"] in ("api.instagram.com", "graph.instagram.com")]


def test_connect_stores_the_token_only_as_kms_ciphertext(dep: Deployment, fake: FakeInstagram) -> None:
    authorize = start(dep)
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == ["igpub-local-app"]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split(",")) >= {"instagram_business_basic", "instagram_business_content_publish"}
    assert query["redirect_uri"] == [dep.output("OAuthRedirectUri")]  # from configuration, not the request

    resp = httpx.get(consent(authorize), timeout=30)
    assert resp.status_code == 200, resp.text
    assert "@igpub_demo" in resp.text

    u = user(fake)
    item = raw_account(dep, u["user_id"])
    assert item["username"]["S"] == "igpub_demo"
    assert item["status"]["S"] == "active"
    blob = item["token_ciphertext"]["B"]
    fake_tokens = [t["token"] for t in fake.tokens(u["user_id"]) if t["kind"] == "ig_long"]
    assert len(fake_tokens) == 1
    token = fake_tokens[0]
    # nowhere in the item in plaintext
    assert token.encode() not in blob
    assert all(token not in str(v) for v in item.values())
    assert decrypt(dep, blob, u["user_id"]) == token
    # the encryption context binds the ciphertext to its account
    with pytest.raises(Exception, match="InvalidCiphertext"):
        decrypt(dep, blob, "someone-else")
    expires = int(item["token_expires_at"]["N"])
    assert 59 * 86400 < expires - time.time() <= 60 * 86400
    assert "instagram_business_content_publish" in item["scopes"]["L"][0]["S"] + str(item["scopes"])


def test_reconnect_replaces_the_token(dep: Deployment, fake: FakeInstagram) -> None:
    assert walk_connect_flow(dep).status_code == 200
    assert walk_connect_flow(dep).status_code == 200
    u = user(fake)
    item = raw_account(dep, u["user_id"])
    newest = max((t for t in fake.tokens(u["user_id"]) if t["kind"] == "ig_long"), key=lambda t: t["issued_at"])
    assert decrypt(dep, item["token_ciphertext"]["B"], u["user_id"]) == newest["token"]
    assert int(item["token_version"]["N"]) >= 2


def test_replayed_state_is_refused_without_calling_instagram(dep: Deployment, fake: FakeInstagram) -> None:
    callback = consent(start(dep))
    assert httpx.get(callback, timeout=30).status_code == 200
    fake.clear_calls()
    replay = httpx.get(callback, timeout=30)
    assert replay.status_code == 400
    assert "not valid" in replay.text
    assert ig_calls(fake) == []


def test_unknown_state_is_refused_and_nothing_is_stored(dep: Deployment, fake: FakeInstagram) -> None:
    fake.clear_calls()
    before = dep.client("dynamodb").scan(TableName=dep.output("AccountsTableName"))["Count"]
    resp = httpx.get(dep.output("OAuthRedirectUri"), params={"state": "made-up", "code": "abc"}, timeout=30)
    assert resp.status_code == 400
    missing = httpx.get(dep.output("OAuthRedirectUri"), params={"code": "abc"}, timeout=30)
    assert missing.status_code == 400
    assert ig_calls(fake) == []
    assert dep.client("dynamodb").scan(TableName=dep.output("AccountsTableName"))["Count"] == before


def test_expired_state_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    authorize = start(dep)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    # age the state past its 10 minutes (TTL deletion may lag for days: the code checks expiry itself)
    dep.client("dynamodb").update_item(
        TableName=dep.output("OAuthStatesTableName"),
        Key={"state": {"S": state}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    callback = consent(authorize)
    fake.clear_calls()
    resp = httpx.get(callback, timeout=30)
    assert resp.status_code == 400
    assert "expired" in resp.text
    assert ig_calls(fake) == []


def test_user_denial_shows_a_clear_page(dep: Deployment, fake: FakeInstagram) -> None:
    fake.config(consent_mode="deny")
    callback = consent(start(dep))
    assert "error=access_denied" in callback
    resp = httpx.get(callback, timeout=30)
    assert resp.status_code == 400
    assert "not granted" in resp.text
    assert "The user denied your request" in resp.text
    assert [c for c in fake.calls() if c["host"] == "api.instagram.com"] == []


def test_a_used_code_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    first = consent(start(dep))
    assert httpx.get(first, timeout=30).status_code == 200
    code = parse_qs(urlsplit(first).query)["code"][0]
    # a fresh state, with the already used code
    fresh_state = parse_qs(urlsplit(start(dep)).query)["state"][0]
    resp = httpx.get(dep.output("OAuthRedirectUri"), params={"state": fresh_state, "code": code}, timeout=30)
    assert resp.status_code == 400
    assert "refused the sign-in" in resp.text
    assert "Matching code was not found or was already used" in resp.text


def test_an_expired_code_is_refused(dep: Deployment, fake: FakeInstagram) -> None:
    callback = consent(start(dep))
    fake.advance(3601)  # codes live one hour
    resp = httpx.get(callback, timeout=30)
    assert resp.status_code == 400
    assert "refused the sign-in" in resp.text


@pytest.mark.parametrize("shape", ["documented", "flat"])
def test_both_code_exchange_shapes(dep: Deployment, fake: FakeInstagram, shape: str) -> None:
    fake.config(code_exchange_shape=shape)
    resp = walk_connect_flow(dep)
    assert resp.status_code == 200, resp.text
    u = user(fake)
    item = raw_account(dep, u["user_id"])
    assert item["account_id"]["S"] == str(u["user_id"])
    scopes = [s["S"] for s in item["scopes"]["L"]]
    assert "instagram_business_basic" in scopes


def test_wrong_app_secret_is_reported_as_a_configuration_problem(dep: Deployment, fake: FakeInstagram) -> None:
    fake.config(ig_app_secret="a-different-secret")
    resp = walk_connect_flow(dep)
    assert resp.status_code == 502
    assert "app settings are wrong" in resp.text
    assert "a-different-secret" not in resp.text
    assert "local-app-secret" not in resp.text
