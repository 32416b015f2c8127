"""Business Login for Instagram on the fake: consent, code exchange, long-lived tokens, refresh, /me,
and token validation on graph calls."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
from fake_helpers import APP_ID, APP_SECRET, IG, REDIRECT, error_of


def test_authorize_auto_approve_redirects_with_code_state_and_fragment(ig: IG) -> None:
    resp = ig.authorize(state="abc 123", force_authentication="1", enable_fb_login="0")
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert location.endswith("#_")
    query = parse_qs(urlsplit(location[:-2]).query)
    assert query["state"] == ["abc 123"]
    assert query["code"][0]


def test_authorize_older_host_also_works(ig: IG) -> None:
    resp = ig.http.get(
        "/api.instagram.com/oauth/authorize",
        params={"client_id": APP_ID, "redirect_uri": REDIRECT, "response_type": "code",
                "scope": "instagram_business_basic"},
    )
    assert resp.status_code == 302
    assert "code=" in resp.headers["location"]


def test_authorize_deny(ig: IG) -> None:
    ig.config(consent_mode="deny")
    resp = ig.authorize(state="s1")
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query == {
        "error": ["access_denied"],
        "error_reason": ["user_denied"],
        "error_description": ["The user denied your request"],
        "state": ["s1"],
    }


def test_authorize_page_allow_and_deny(ig: IG) -> None:
    ig.config(consent_mode="page")
    page = ig.authorize(state="s2", login_as="page_user")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "page_user" in page.text and 'value="allow"' in page.text and 'value="deny"' in page.text
    action = re.search(r'action="([^"]+)"', page.text)
    assert action is not None
    hidden = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    hidden = {k: v.replace("&amp;", "&") for k, v in hidden.items() if k != "decision"}
    allow = ig.http.post(action.group(1), data={**hidden, "decision": "allow"})
    assert allow.status_code == 302
    code = parse_qs(urlsplit(allow.headers["location"][:-2]).query)["code"][0]
    exchanged = ig.exchange(code)
    assert exchanged.status_code == 200
    users = ig.ctl("GET", "/users")["data"]
    page_user = next(u for u in users if u["username"] == "page_user")
    assert exchanged.json()["data"][0]["user_id"] == page_user["user_id"]
    deny = ig.http.post(action.group(1), data={**hidden, "decision": "deny"})
    assert parse_qs(urlsplit(deny.headers["location"]).query)["error"] == ["access_denied"]


def test_authorize_rejects_bad_client_redirect_and_scope(ig: IG) -> None:
    bad_client = ig.authorize(client_id="123")
    assert bad_client.status_code == 400
    assert bad_client.json() == {"error_type": "OAuthException", "code": 400, "error_message": "Invalid platform app"}
    assert ig.authorize(scope="business_basic").json()["error_message"].startswith("Invalid scope")
    assert ig.authorize(response_type="token").status_code == 400
    ig.config(allowed_redirect_uris=["https://other.example/cb"])
    assert ig.authorize().status_code == 400
    ig.config(allowed_redirect_uris=[REDIRECT])
    assert ig.authorize().status_code == 302


def test_code_exchange_documented_shape(ig: IG) -> None:
    resp = ig.exchange(ig.code())
    assert resp.status_code == 200
    (item,) = resp.json()["data"]
    assert item["access_token"].startswith("IGAA")
    assert isinstance(item["user_id"], str)
    assert item["permissions"] == "instagram_business_basic,instagram_business_content_publish"


def test_code_exchange_flat_shape_and_multipart(ig: IG) -> None:
    ig.config(code_exchange_shape="flat")
    code = ig.code()
    fields = {
        "client_id": APP_ID, "client_secret": APP_SECRET, "grant_type": "authorization_code",
        "redirect_uri": REDIRECT, "code": code,
    }
    resp = ig.http.post(
        "/api.instagram.com/oauth/access_token", files={k: (None, v) for k, v in fields.items()}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body["user_id"], int)
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_content_publish"]


def test_code_is_single_use(ig: IG) -> None:
    code = ig.code()
    assert ig.exchange(code).status_code == 200
    again = ig.exchange(code)
    assert again.status_code == 400
    assert again.json() == {
        "error_type": "OAuthException",
        "code": 400,
        "error_message": "Matching code was not found or was already used",
    }


def test_code_with_fragment_is_not_found(ig: IG) -> None:
    assert ig.exchange(ig.code() + "#_").json()["error_message"].startswith("Matching code")


def test_code_expires_after_one_hour(ig: IG) -> None:
    code = ig.code()
    ig.advance(3599)
    assert ig.exchange(code).status_code == 200
    late = ig.code()
    ig.advance(3601)
    assert ig.exchange(late).json()["error_message"] == "Matching code was not found or was already used"


def test_code_exchange_errors(ig: IG) -> None:
    code = ig.code()
    wrong_secret = ig.exchange(code, client_secret="nope")
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["error_message"] == "Invalid platform app"
    assert ig.exchange(code, client_id="fb-app").json()["error_message"] == "Invalid platform app"
    assert "grant_type" in ig.exchange(code, grant_type="client_credentials").json()["error_message"]
    mismatch = ig.exchange(code, redirect_uri=REDIRECT + "/")
    assert "redirect_uri" in mismatch.json()["error_message"]
    assert ig.exchange("").json()["error_message"] == "Missing required field code"
    # None of the failures consumed the code.
    assert ig.exchange(code).status_code == 200
    assert ig.http.get("/api.instagram.com/oauth/access_token").status_code == 400


def test_short_lived_token_lasts_one_hour(ig: IG) -> None:
    short = ig.short_token()
    assert ig.get("/me", token=short).status_code == 200
    ig.advance(3601)
    err = error_of(ig.get("/me", token=short))
    assert (err["code"], err["error_subcode"]) == (190, 463)
    assert err["message"].startswith("Error validating access token: Session has expired on")


def test_long_lived_exchange(ig: IG) -> None:
    short = ig.short_token()
    resp = ig.long_token(short)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 5183944
    assert body["access_token"].startswith("IGAA") and body["access_token"] != short
    tokens = ig.ctl("GET", f"/users/{ig.fake.app.config.default_username}/tokens")["data"]
    long_tok = next(t for t in tokens if t["token"] == body["access_token"])
    assert long_tok["kind"] == "ig_long"
    assert long_tok["expires_at"] - long_tok["issued_at"] == 5_184_000


def test_long_lived_exchange_errors(ig: IG) -> None:
    short = ig.short_token()
    bad_secret = ig.http.get(
        "/graph.instagram.com/access_token",
        params={"grant_type": "ig_exchange_token", "client_secret": "x", "access_token": short},
    )
    assert error_of(bad_secret)["message"] == "Error validating client secret."
    bad_grant = ig.http.get(
        "/graph.instagram.com/access_token",
        params={"grant_type": "ig_refresh_token", "client_secret": APP_SECRET, "access_token": short},
    )
    assert error_of(bad_grant)["code"] == 100
    unknown = ig.long_token("IGAAnot-a-token")
    assert error_of(unknown)["message"] == "Invalid OAuth access token - Cannot parse access token"
    long_tok = ig.long_token(short).json()["access_token"]
    assert error_of(ig.long_token(long_tok))["code"] == 100


def _refresh(ig: IG, token: str, method: str = "GET") -> httpx.Response:
    return ig.http.request(
        method,
        "/graph.instagram.com/refresh_access_token",
        params={"grant_type": "ig_refresh_token", "access_token": token},
    )


def test_refresh_rules(user: IG) -> None:
    old = user.token
    too_young = _refresh(user, old)
    err = error_of(too_young)
    assert err["code"] == 100 and "24 hours" in err["message"]
    user.advance(86_400)
    post = _refresh(user, old, "POST")
    assert error_of(post)["message"] == "Unsupported request - method type: post"
    ok = _refresh(user, old)
    assert ok.status_code == 200
    body = ok.json()
    new = body["access_token"]
    assert new != old and body["token_type"] == "bearer" and body["expires_in"] == 5183944
    tokens = {t["token"]: t for t in user.ctl("GET", f"/users/{user.user_id}/tokens")["data"]}
    assert tokens[new]["expires_at"] == tokens[new]["issued_at"] + 5_184_000
    # The old token keeps working until its own expiry (configurable).
    assert user.get("/me", token=old).status_code == 200
    assert user.get("/me", token=new).status_code == 200


def test_refresh_revokes_old_when_configured(user: IG) -> None:
    user.config(refresh_revokes_old_token=True, refresh_min_age_seconds=0)
    new = _refresh(user, user.token).json()["access_token"]
    assert error_of(user.get("/me"))["code"] == 190
    assert user.get("/me", token=new).status_code == 200


def test_refresh_expired_token_and_short_token(ig: IG) -> None:
    short = ig.short_token()
    assert "long-lived" in error_of(_refresh(ig, short))["message"]
    ig.login()
    ig.advance(5_184_001)
    err = error_of(_refresh(ig, ig.token))
    assert (err["code"], err["error_subcode"]) == (190, 463)
    assert "Session has expired on" in err["message"]


def test_refresh_too_young_error_is_configurable(user: IG) -> None:
    user.config(refresh_too_young_error={"code": 190, "subcode": 467, "message": "too young"})
    err = error_of(_refresh(user, user.token))
    assert (err["code"], err["error_subcode"], err["message"]) == (190, 467, "too young")


def test_me_flat_and_data_shapes(user: IG) -> None:
    me = user.get("/me", fields="user_id,username,account_type,id").json()
    assert me["username"] == "igpub_demo"
    assert me["account_type"] == "Business"
    assert me["id"] != me["user_id"]
    user.config(me_shape="data")
    wrapped = user.get("/me", fields="user_id,username").json()
    assert wrapped["data"][0]["user_id"] == me["user_id"]
    assert error_of(user.get("/me", fields="nope"))["code"] == 100


def test_me_without_version_and_with_old_version(user: IG) -> None:
    plain = user.http.get("/graph.instagram.com/me", params={"access_token": user.token, "fields": "username"})
    assert plain.json()["username"] == "igpub_demo"
    old = user.http.get("/graph.instagram.com/v18.0/me", params={"access_token": user.token})
    assert error_of(old)["code"] == 2635


def test_token_sources_and_validation(user: IG) -> None:
    bearer = user.http.get("/graph.instagram.com/v25.0/me", headers={"Authorization": f"Bearer {user.token}"})
    assert bearer.status_code == 200
    form = user.http.post(
        f"/graph.instagram.com/v25.0/{user.user_id}/media",
        data={"access_token": user.token, "image_url": user.cdn("image.jpg")},
    )
    assert form.status_code == 200
    as_json = user.http.post(
        f"/graph.instagram.com/v25.0/{user.user_id}/media",
        json={"image_url": user.cdn("image.jpg")},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert as_json.status_code == 200
    missing = user.http.get("/graph.instagram.com/v25.0/me")
    assert error_of(missing)["code"] == 2500
    unknown = error_of(user.get("/me", token="IGAAbogus"))
    assert unknown["code"] == 190 and "error_subcode" not in unknown
    assert unknown["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert unknown["type"] == "OAuthException" and unknown["fbtrace_id"]


def test_revoked_tokens(user: IG) -> None:
    result = user.ctl("POST", f"/users/{user.user_id}/revoke", json={"subcode": 460})
    assert result["revoked"] >= 2
    err = error_of(user.get("/me"))
    assert (err["code"], err["error_subcode"]) == (190, 460)
    assert "changed their password" in err["message"]
    fresh = IG(user.fake).login()
    assert fresh.get("/me").status_code == 200
    user.ctl("POST", f"/users/{user.user_id}/revoke", json={"subcode": 458})
    assert error_of(fresh.get("/me"))["error_subcode"] == 458


def test_auth_error_http_status_configurable(user: IG) -> None:
    assert user.get("/me", token="IGAAx").status_code == 400
    user.config(auth_error_http_status=401)
    assert user.get("/me", token="IGAAx").status_code == 401


def test_fb_token_rejected_on_instagram_host(user: IG) -> None:
    tokens = user.fake.app.store.tokens
    ig_tok = tokens[user.token]
    ig_tok.kind = "fb_long"  # pretend it is a Facebook token
    try:
        assert error_of(user.get("/me"))["code"] == 190
    finally:
        ig_tok.kind = "ig_long"


def test_login_as_creates_user_and_tokens_visible(ig: IG) -> None:
    ig.login("second_account")
    users = {u["username"]: u for u in ig.ctl("GET", "/users")["data"]}
    assert users["second_account"]["user_id"] == ig.user_id
    tokens = ig.ctl("GET", f"/users/{ig.user_id}/tokens")["data"]
    assert {t["kind"] for t in tokens} == {"ig_short", "ig_long"}
    assert all(t["valid"] for t in tokens)


def test_token_age_control(user: IG) -> None:
    aged = user.ctl("POST", "/tokens/age", json={"token": user.token, "seconds": 90_000})
    assert aged == {"aged": 1}
    assert _refresh(user, user.token).status_code == 200
