"""Facebook Login (graph.facebook.com) and hashtag search on the fake."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fake_helpers import FB_APP_ID, FB_APP_SECRET, IG, REDIRECT, error_of

FB = "graph.facebook.com"


def dialog(ig: IG, **params: Any) -> httpx.Response:
    query = {"client_id": FB_APP_ID, "redirect_uri": REDIRECT, "state": "fbst", "response_type": "code",
             "scope": "instagram_basic,pages_show_list"}
    query.update(params)
    resp: httpx.Response = ig.http.get("/www.facebook.com/v25.0/dialog/oauth", params=query)
    return resp


def fb_code(ig: IG, **params: Any) -> str:
    resp = dialog(ig, **params)
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.endswith("#_=_")
    query = parse_qs(urlsplit(location[:-4]).query)
    assert query["state"] == ["fbst"]
    return query["code"][0]


def fb_exchange(ig: IG, code: str, **overrides: Any) -> httpx.Response:
    params = {"client_id": FB_APP_ID, "client_secret": FB_APP_SECRET, "redirect_uri": REDIRECT, "code": code}
    params.update(overrides)
    resp: httpx.Response = ig.http.get(f"/{FB}/v25.0/oauth/access_token", params=params)
    return resp


def fb_login(ig: IG, username: str | None = None) -> tuple[str, str]:
    """Returns (long-lived FB user token, IG business account id)."""
    code = fb_code(ig, **({"login_as": username} if username else {}))
    short = fb_exchange(ig, code).json()["access_token"]
    long = ig.http.get(
        f"/{FB}/v25.0/oauth/access_token",
        params={"grant_type": "fb_exchange_token", "client_id": FB_APP_ID, "client_secret": FB_APP_SECRET,
                "fb_exchange_token": short},
    ).json()["access_token"]
    accounts = ig.get("/me/accounts", host=FB, token=long,
                      fields="id,name,access_token,instagram_business_account").json()
    return long, accounts["data"][0]["instagram_business_account"]["id"]


@pytest.fixture
def fb(ig: IG) -> IG:
    ig.token, ig.user_id = fb_login(ig)
    return ig


def search(fb: IG, q: str) -> httpx.Response:
    resp: httpx.Response = fb.get("/ig_hashtag_search", host=FB, user_id=fb.user_id, q=q)
    return resp


# ---------------------------------------------------------------------------------------------
# Facebook Login


def test_fb_login_flow(ig: IG) -> None:
    code = fb_code(ig)
    short = fb_exchange(ig, code)
    assert short.status_code == 200
    body = short.json()
    assert body["access_token"].startswith("EAA") and body["token_type"] == "bearer"
    long = ig.http.get(
        f"/{FB}/oauth/access_token",
        params={"grant_type": "fb_exchange_token", "client_id": FB_APP_ID, "client_secret": FB_APP_SECRET,
                "fb_exchange_token": body["access_token"]},
    ).json()
    assert long["expires_in"] == 5183944 and long["access_token"] != body["access_token"]
    accounts = ig.get("/me/accounts", host=FB, token=long["access_token"],
                      fields="id,name,access_token,instagram_business_account").json()
    (page,) = accounts["data"]
    users = {u["username"]: u for u in ig.ctl("GET", "/users")["data"]}
    assert page["instagram_business_account"] == {"id": users["igpub_demo"]["user_id"]}
    assert page["access_token"].startswith("EAA") and page["name"]
    assert "cursors" in accounts["paging"]
    page_tokens = [t for t in ig.ctl("GET", "/tokens")["data"] if t["kind"] == "fb_page"]
    assert page_tokens[0]["expires_at"] is None  # from a long-lived user token
    me = ig.get("/me", host=FB, token=long["access_token"]).json()
    assert set(me) == {"id", "name"}
    node = ig.get(f"/{page['id']}", host=FB, token=long["access_token"], fields="instagram_business_account").json()
    assert node == {"instagram_business_account": page["instagram_business_account"], "id": page["id"]}


def test_fb_dialog_deny_and_page(ig: IG) -> None:
    ig.config(consent_mode="deny")
    resp = dialog(ig)
    location = resp.headers["location"]
    assert location.endswith("#_=_")
    query = parse_qs(urlsplit(location[:-4]).query)
    assert query["error"] == ["access_denied"] and query["error_reason"] == ["user_denied"]
    assert query["state"] == ["fbst"]
    ig.config(consent_mode="page")
    page = dialog(ig)
    assert page.status_code == 200 and 'value="allow"' in page.text


def test_fb_dialog_errors(ig: IG) -> None:
    assert dialog(ig, client_id="igpub-local-app").status_code == 400
    ig.config(allowed_redirect_uris=["https://elsewhere/cb"])
    blocked = dialog(ig)
    assert blocked.status_code == 400 and "URL Blocked" in blocked.text


def test_fb_dialog_without_version_and_token_response(ig: IG) -> None:
    resp = ig.http.get("/www.facebook.com/dialog/oauth",
                       params={"client_id": FB_APP_ID, "redirect_uri": REDIRECT, "response_type": "token"})
    assert resp.status_code == 302
    assert "#access_token=EAA" in resp.headers["location"]


def test_fb_code_errors(ig: IG) -> None:
    code = fb_code(ig)
    mismatch = error_of(fb_exchange(ig, code, redirect_uri=REDIRECT + "x"))
    assert mismatch["code"] == 100 and "redirect_uri is identical" in mismatch["message"]
    assert error_of(fb_exchange(ig, code, client_secret="nope"))["message"] == "Error validating client secret."
    assert error_of(fb_exchange(ig, code, client_id=""))["code"] == 101
    assert fb_exchange(ig, code).status_code == 200
    used = error_of(fb_exchange(ig, code))
    assert (used["code"], used["error_subcode"]) == (100, 36009)
    late = fb_code(ig)
    ig.advance(601)
    expired = error_of(fb_exchange(ig, late))
    assert (expired["code"], expired["error_subcode"]) == (100, 36007)
    assert error_of(fb_exchange(ig, "garbage"))["code"] == 100


def test_fb_exchange_token_errors(ig: IG) -> None:
    params = {"grant_type": "fb_exchange_token", "client_id": FB_APP_ID, "client_secret": FB_APP_SECRET}
    bogus = ig.http.get(f"/{FB}/v25.0/oauth/access_token", params={**params, "fb_exchange_token": "EAAx"})
    assert error_of(bogus)["code"] == 190
    short = fb_exchange(ig, fb_code(ig)).json()["access_token"]
    ig.advance(3601)
    expired = ig.http.get(f"/{FB}/v25.0/oauth/access_token", params={**params, "fb_exchange_token": short})
    assert error_of(expired)["error_subcode"] == 463


def test_ig_tokens_do_not_work_on_facebook_host(ig: IG) -> None:
    ig.login()
    assert error_of(ig.get("/me", host=FB))["message"] == "Invalid OAuth access token - Cannot parse access token"


def test_publishing_with_facebook_login(fb: IG) -> None:
    cid = fb.post(f"/{fb.user_id}/media", host=FB, image_url=fb.cdn("image.jpg")).json()["id"]
    published = fb.post(f"/{fb.user_id}/media_publish", host=FB, creation_id=cid)
    assert published.status_code == 200
    media_id = published.json()["id"]
    assert fb.get(f"/{media_id}", host=FB, fields="permalink").json()["permalink"].startswith("https://www.")
    deleted = fb.http.delete(f"/{FB}/v25.0/{media_id}", params={"access_token": fb.token})
    assert deleted.json() == {"success": True, "deleted_id": media_id}


def test_debug_token(fb: IG) -> None:
    resp = fb.http.get(f"/{FB}/v25.0/debug_token",
                       params={"input_token": fb.token, "access_token": f"{FB_APP_ID}|{FB_APP_SECRET}"})
    data = resp.json()["data"]
    assert data["is_valid"] is True and data["type"] == "USER" and data["app_id"] == FB_APP_ID


# ---------------------------------------------------------------------------------------------
# Hashtags


def test_hashtag_search_and_node(fb: IG) -> None:
    first = search(fb, "Coke").json()
    (item,) = first["data"]
    assert search(fb, "#coke").json() == first  # static id; case and '#' ignored
    node = fb.get(f"/{item['id']}", host=FB, fields="id,name").json()
    assert node == {"id": item["id"], "name": "coke"}
    assert "q" in error_of(fb.get("/ig_hashtag_search", host=FB, user_id=fb.user_id))["message"]
    assert "user_id" in error_of(fb.get("/ig_hashtag_search", host=FB, q="x"))["message"]
    assert error_of(search(fb, "no spaces"))["code"] == 100


def test_hashtag_budget(fb: IG) -> None:
    for i in range(30):
        assert search(fb, f"tag{i}").status_code == 200
        fb.advance(60)
    assert search(fb, "tag0").status_code == 200  # repeats are free
    err = error_of(search(fb, "tag30"))
    assert err["code"] == 18
    recent = fb.get(f"/{fb.user_id}/recently_searched_hashtags", host=FB, limit="30").json()["data"]
    assert len(recent) == 30
    budget = fb.ctl("GET", "/hashtags")["data"][fb.user_id]
    assert budget[0]["name"] == "tag0"
    # the repeat did not reset tag0's timer: it leaves the window 7 days after its first query
    fb.advance(7 * 86_400 - 30 * 60 + 1)
    assert search(fb, "tag30").status_code == 200
    assert error_of(search(fb, "tag31"))["code"] == 18


def test_hashtag_limit_error_configurable(fb: IG) -> None:
    fb.config(hashtag_budget=1, hashtag_limit_error={"code": 24, "subcode": 2207024, "message": "cap"})
    search(fb, "one")
    err = error_of(search(fb, "two"))
    assert (err["code"], err["error_subcode"], err["message"]) == (24, 2207024, "cap")


def test_hashtag_edges(fb: IG) -> None:
    hid = search(fb, "sunset").json()["data"][0]["id"]
    fields = "id,caption,media_type,like_count,comments_count,permalink,timestamp"
    top = fb.get(f"/{hid}/top_media", host=FB, user_id=fb.user_id, fields=fields).json()
    assert len(top["data"]) == 25
    assert all("username" not in m for m in top["data"])
    assert top["data"][0]["like_count"] >= top["data"][-1]["like_count"]
    again = fb.get(f"/{hid}/top_media", host=FB, user_id=fb.user_id, fields=fields).json()
    assert [m["id"] for m in again["data"]] == [m["id"] for m in top["data"]]
    recent = fb.get(f"/{hid}/recent_media", host=FB, user_id=fb.user_id, limit="80", fields="id,timestamp").json()
    assert len(recent["data"]) == 50
    assert set(recent["paging"]["cursors"]) == {"after"}
    nxt = fb.get(f"/{hid}/recent_media", host=FB, user_id=fb.user_id, limit="50",
                 after=recent["paging"]["cursors"]["after"]).json()
    assert not {m["id"] for m in nxt["data"]} & {m["id"] for m in recent["data"]}
    assert error_of(fb.get(f"/{hid}/recent_media", host=FB, user_id=fb.user_id, fields="id,username"))["code"] == 100
    assert "user_id" in error_of(fb.get(f"/{hid}/top_media", host=FB))["message"]


def test_hashtag_edge_counts_as_a_query(fb: IG) -> None:
    fb.config(hashtag_budget=1)
    hid = search(fb, "alpha").json()["data"][0]["id"]
    assert fb.get(f"/{hid}/recent_media", host=FB, user_id=fb.user_id).status_code == 200
    fb.advance(7 * 86_400 + 1)  # alpha left the window; querying its edge counts it again
    assert fb.get(f"/{hid}/recent_media", host=FB, user_id=fb.user_id).status_code == 200
    assert error_of(search(fb, "beta"))["code"] == 18


def test_hashtags_refused_on_instagram_host(fb: IG) -> None:
    hid = search(fb, "refused").json()["data"][0]["id"]
    ig = IG(fb.fake).login()
    err = error_of(ig.get("/ig_hashtag_search", user_id=ig.user_id, q="refused"))
    assert (err["code"], err["type"]) == (100, "IGApiException")
    assert err["message"] == "Unsupported request - method type: get"
    assert error_of(ig.get(f"/{hid}/top_media", user_id=ig.user_id))["type"] == "IGApiException"
    assert error_of(ig.get(f"/{ig.user_id}/recently_searched_hashtags"))["type"] == "IGApiException"


def test_hashtag_needs_user_token_and_own_account(fb: IG) -> None:
    page_token = fb.get("/me/accounts", host=FB).json()["data"][0]["access_token"]
    assert error_of(fb.get("/ig_hashtag_search", host=FB, token=page_token, user_id=fb.user_id, q="x"))["code"] == 10
    other = fb.ctl("POST", "/users", json={"username": "stranger"})
    assert error_of(fb.get("/ig_hashtag_search", host=FB, user_id=other["user_id"], q="x"))["code"] == 100
