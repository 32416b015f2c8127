"""InstagramClient against httpx.MockTransport: URLs, auth, retries, usage, secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from igpub.config import Settings
from igpub.instagram.client import InstagramClient, encode_params
from igpub.instagram.errors import (
    AuthError,
    HashtagLimitError,
    InvalidMediaError,
    InvalidRequestError,
    NetworkError,
    NotReadyError,
    OAuthConfigError,
    OAuthError,
    RateLimitedError,
    TransientError,
    UnexpectedResponseError,
)
from igpub.instagram.usage import UsageSnapshot
from tests.unit.instagram.usage_doubles import InMemoryUsageGuard

TOKEN = "IGAA-the-secret-token"
SECRET = "the-app-secret"
CODE = "AQBx-the-code"

Item = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Fake:
    """A scripted server: answers requests with the queued items, in order; records every request."""

    def __init__(self, *items: Item) -> None:
        self.items = list(items)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.items:
            raise AssertionError(f"unexpected request {request.method} {request.url.path}")
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    def form(self, i: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[i].content.decode()).items()}

    def query(self, i: int = -1) -> dict[str, str]:
        return dict(self.requests[i].url.params)


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def ok(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def gerr(code: int, subcode: int | None = None, status: int = 400, **extra: Any) -> httpx.Response:
    err: dict[str, Any] = {"message": f"error {code}", "type": "OAuthException", "code": code, **extra}
    if subcode is not None:
        err["error_subcode"] = subcode
    return httpx.Response(status, json={"error": err})


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


def make(
    fake: Fake,
    *,
    usage: InMemoryUsageGuard | None = None,
    rng: Callable[[], float] = lambda: 1.0,
    **overrides: Any,
) -> tuple[InstagramClient, Recorder]:
    settings = Settings(instagram_app_id="ig-app-id", **overrides)
    sleep = Recorder()
    http = httpx.Client(transport=httpx.MockTransport(fake))
    return InstagramClient(settings, http=http, usage=usage, sleep=sleep, rng=rng), sleep


STATUS_OK = {"id": "c1", "status_code": "FINISHED"}

# ------------------------------------------------------------------ OAuth (Instagram Login)


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"access_token": TOKEN, "user_id": "1020", "permissions": "instagram_business_basic,b"}]},
        {"access_token": TOKEN, "user_id": 1020, "permissions": ["instagram_business_basic", "b"]},
    ],
)
def test_exchange_code_both_shapes(body: dict[str, Any]) -> None:
    fake = Fake(ok(body))
    client, _ = make(fake)
    tok = client.exchange_code(f"{CODE}#_", "https://igpub.example/oauth/callback", app_secret=SECRET)
    assert tok.user_id == "1020"
    assert tok.permissions == ["instagram_business_basic", "b"]
    assert tok.access_token.get_secret_value() == TOKEN
    req = fake.requests[0]
    assert req.method == "POST"
    assert str(req.url) == "https://api.instagram.com/oauth/access_token"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in req.headers
    assert fake.form() == {
        "client_id": "ig-app-id",
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": "https://igpub.example/oauth/callback",
        "code": CODE,  # "#_" stripped
    }


def test_exchange_code_secret_from_constructor_or_error() -> None:
    fake = Fake(ok({"access_token": TOKEN, "user_id": 1}))
    client = InstagramClient(
        Settings(), http=httpx.Client(transport=httpx.MockTransport(fake)), app_secret="ctor-secret"
    )
    client.exchange_code(CODE, "https://x/cb")
    assert fake.form()["client_secret"] == "ctor-secret"
    client2, _ = make(Fake())
    with pytest.raises(ValueError, match="secret"):
        client2.exchange_code(CODE, "https://x/cb")


def test_exchange_code_oauth_envelopes() -> None:
    used = httpx.Response(
        400,
        json={
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used",
        },
    )
    platform = httpx.Response(
        400, json={"error_type": "OAuthException", "code": 400, "error_message": "Invalid platform app"}
    )
    fake = Fake(used, platform)
    client, sleep = make(fake)
    with pytest.raises(OAuthError) as info:
        client.exchange_code(CODE, "https://x/cb", app_secret=SECRET)
    assert not info.value.is_configuration_error
    with pytest.raises(OAuthConfigError):
        client.exchange_code(CODE, "https://x/cb", app_secret=SECRET)
    assert len(fake.requests) == 2 and sleep.delays == []


def test_exchange_code_retried_only_when_nothing_was_sent() -> None:
    fake = Fake(connect_error(), ok({"access_token": TOKEN, "user_id": 1}))
    client, sleep = make(fake)
    client.exchange_code(CODE, "https://x/cb", app_secret=SECRET)
    assert len(fake.requests) == 2 and len(sleep.delays) == 1

    fake = Fake(read_timeout(), ok({"access_token": TOKEN, "user_id": 1}))
    client, _ = make(fake)
    with pytest.raises(NetworkError) as info:
        client.exchange_code(CODE, "https://x/cb", app_secret=SECRET)
    assert info.value.request_sent
    assert len(fake.requests) == 1  # the single-use code may have been consumed


def test_exchange_long_lived_and_refresh() -> None:
    fake = Fake(
        ok({"access_token": "long", "token_type": "bearer", "expires_in": 5183944}),
        ok({"access_token": "long2", "token_type": "bearer", "expires_in": 5184000}),
    )
    client, _ = make(fake)
    long_lived = client.exchange_long_lived(TOKEN, app_secret=SECRET)
    assert long_lived.expires_in == 5183944
    req = fake.requests[0]
    assert req.method == "GET" and req.url.path == "/access_token"  # no version segment
    assert req.url.host == "graph.instagram.com"
    assert fake.query(0) == {
        "grant_type": "ig_exchange_token",
        "client_secret": SECRET,
        "access_token": TOKEN,
    }

    refreshed = client.refresh_token("long")
    assert refreshed.access_token.get_secret_value() == "long2"
    assert fake.requests[1].url.path == "/refresh_access_token"
    assert fake.query(1) == {"grant_type": "ig_refresh_token", "access_token": "long"}


def test_get_me_uses_bearer_and_version() -> None:
    fake = Fake(ok({"id": "app-scoped", "user_id": 17841400000, "username": "u", "account_type": "Business"}))
    client, _ = make(fake)
    me = client.get_me(TOKEN)
    assert (me.id, me.user_id, me.username) == ("app-scoped", "17841400000", "u")
    req = fake.requests[0]
    assert req.url.path == "/v25.0/me"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in req.url.params
    assert fake.query() == {"fields": "user_id,username,account_type,id"}


def test_timeouts_set_on_every_call() -> None:
    fake = Fake(ok(STATUS_OK), ok({"id": "m1"}))
    client, _ = make(fake, http_timeout_s=7.5, publish_timeout_s=45.0)
    client.get_container_status("c1", TOKEN)
    client.publish("ig1", TOKEN, "c1")
    read, publish = fake.requests
    assert read.extensions["timeout"] == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}
    # media_publish can take long at Instagram, and a timeout leaves its outcome unknown: it waits longer
    assert publish.extensions["timeout"] == {"connect": 7.5, "read": 45.0, "write": 45.0, "pool": 45.0}


def test_default_http_client_has_timeout() -> None:
    client = InstagramClient(Settings(http_timeout_s=3.0))
    try:
        assert client._http.timeout == httpx.Timeout(3.0)
    finally:
        client.close()


# ------------------------------------------------------------------ reads: retries with backoff


def test_read_retried_with_full_jitter_backoff() -> None:
    fake = Fake(
        httpx.Response(502, text="<html>bad gateway</html>"),
        gerr(2),
        connect_error(),
        ok(STATUS_OK),
    )
    client, sleep = make(fake, retry_base_delay_s=0.5, retry_max_delay_s=1.5, max_read_retries=3)
    status = client.get_container_status("c1", TOKEN)
    assert status.status_code == "FINISHED"
    assert len(fake.requests) == 4
    assert sleep.delays == [0.5, 1.0, 1.5]  # base * 2**n, capped; rng() = 1.0


def test_read_jitter_uses_rng() -> None:
    fake = Fake(gerr(1), gerr(1), ok(STATUS_OK))
    client, sleep = make(fake, rng=lambda: 0.25, retry_base_delay_s=2.0)
    client.get_container_status("c1", TOKEN)
    assert sleep.delays == [0.5, 1.0]


def test_read_retries_exhausted() -> None:
    fake = Fake(*(read_timeout() for _ in range(3)))
    client, sleep = make(fake, max_read_retries=2)
    with pytest.raises(NetworkError):
        client.get_media("m1", TOKEN)
    assert len(fake.requests) == 3 and len(sleep.delays) == 2


def test_transient_100_33_on_fresh_objects_is_retried_on_reads() -> None:
    fake = Fake(gerr(100, 33), ok({"id": "m1", "permalink": "https://www.instagram.com/p/abc/"}))
    client, _ = make(fake)
    assert client.get_media("m1", TOKEN).permalink == "https://www.instagram.com/p/abc/"
    assert fake.query(0)["fields"].startswith("id,permalink")


@pytest.mark.parametrize(
    ("response", "exc"),
    [(gerr(190, 463), AuthError), (gerr(36003, 2207009), InvalidMediaError), (gerr(100), Exception)],
)
def test_read_not_retried_on_permanent_errors(response: httpx.Response, exc: type[Exception]) -> None:
    fake = Fake(response)
    client, sleep = make(fake)
    with pytest.raises(exc):
        client.get_container_status("c1", TOKEN)
    assert len(fake.requests) == 1 and sleep.delays == []


def test_rate_limited_not_slept_on() -> None:
    buc = {"ig1": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 5}]}
    resp = httpx.Response(
        400,
        json={"error": {"message": "(#80002) too many calls", "code": 80002}},
        headers={"x-business-use-case-usage": json.dumps(buc)},
    )
    fake = Fake(resp)
    client, sleep = make(fake)
    with pytest.raises(RateLimitedError) as info:
        client.get_publishing_limit("ig1", TOKEN)
    assert info.value.retry_after_s == 300
    assert len(fake.requests) == 1 and sleep.delays == []


def test_unexpected_body_never_leaks_the_token() -> None:
    fake = Fake(ok({"access_token": TOKEN, "token_type": "bearer"}), httpx.Response(200, text="<html>"))
    client, _ = make(fake)
    with pytest.raises(UnexpectedResponseError) as info:
        client.refresh_token(TOKEN)
    assert "expires_in" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(UnexpectedResponseError):
        client.get_me(TOKEN)


# ------------------------------------------------------------------ publishing: create / publish rules


def test_create_container_encodes_params() -> None:
    fake = Fake(ok({"id": "c1"}))
    client, _ = make(fake)
    container = client.create_container(
        "ig1",
        TOKEN,
        {
            "image_url": "https://cdn.example/a.jpg",
            "caption": "hello #x",
            "is_carousel_item": False,
            "user_tags": [{"username": "bob", "x": 0.5, "y": 0.5}],
            "trial_params": {"graduation_strategy": "MANUAL"},
            "location_id": None,
            "thumb_offset": 1500,
        },
    )
    assert container.id == "c1" and container.uri is None
    req = fake.requests[0]
    assert req.method == "POST" and req.url.path == "/v25.0/ig1/media"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert fake.form() == {
        "image_url": "https://cdn.example/a.jpg",
        "caption": "hello #x",
        "is_carousel_item": "false",
        "user_tags": '[{"username":"bob","x":0.5,"y":0.5}]',
        "trial_params": '{"graduation_strategy":"MANUAL"}',
        "thumb_offset": "1500",
    }


def test_encode_params_children_and_booleans() -> None:
    assert encode_params({"media_type": "CAROUSEL", "children": ["1", "2"], "share_to_feed": True}) == {
        "media_type": "CAROUSEL",
        "children": "1,2",
        "share_to_feed": "true",
    }


@pytest.mark.parametrize(
    "first",
    [gerr(1), gerr(2), gerr(-1, 2207001), gerr(-1, 2207032), gerr(-2, 2207003), connect_error()],
    ids=["1", "2", "-1/2207001", "-1/2207032", "-2/2207003", "connect"],
)
def test_create_retried_when_nothing_was_created(first: Item) -> None:
    fake = Fake(first, ok({"id": "c1", "uri": "https://rupload.facebook.com/ig-api-upload/v25.0/c1"}))
    client, sleep = make(fake)
    container = client.create_container("ig1", TOKEN, {"media_type": "REELS", "upload_type": "resumable"})
    assert container.uri is not None
    assert len(fake.requests) == 2 and len(sleep.delays) == 1


@pytest.mark.parametrize(
    ("first", "exc"),
    [
        (read_timeout(), NetworkError),
        (httpx.RemoteProtocolError("server disconnected"), NetworkError),
        (httpx.Response(500, text="oops"), TransientError),
        (gerr(100, 33), Exception),
        (gerr(1, 2207057), InvalidMediaError),
        (gerr(9004, 2207052), InvalidMediaError),
        (gerr(4), RateLimitedError),
    ],
    ids=["read-timeout", "disconnect", "5xx", "100/33", "1/2207057", "9004", "rate"],
)
def test_create_not_retried_otherwise(first: Item, exc: type[Exception]) -> None:
    fake = Fake(first)
    client, sleep = make(fake)
    with pytest.raises(exc):
        client.create_container("ig1", TOKEN, {"image_url": "https://cdn.example/a.jpg"})
    assert len(fake.requests) == 1 and sleep.delays == []


@pytest.mark.parametrize(
    "first",
    [gerr(1, is_transient=False), gerr(2, is_transient=False), gerr(-1, 2207001, is_transient=False),
     gerr(12345, status=500, is_transient=False)],
    ids=["1", "2", "-1/2207001", "unknown-500"],
)
def test_is_transient_false_is_never_sent_again(first: Item) -> None:
    """Instagram saying the error is not transient wins over the code: POST /media is sent once."""
    fake = Fake(first, ok({"id": "c1"}), ok({"id": "c1"}))
    client, sleep = make(fake)
    with pytest.raises(InvalidRequestError) as info:
        client.create_container("ig1", TOKEN, {"image_url": "https://cdn.example/a.jpg"})
    assert len(fake.requests) == 1 and sleep.delays == []
    assert "not temporary" in info.value.advice


def test_fresh_object_read_retried_although_marked_not_transient() -> None:
    fake = Fake(gerr(100, 33, is_transient=False), ok(STATUS_OK))
    client, sleep = make(fake)
    assert client.get_container_status("c1", TOKEN).status_code == "FINISHED"
    assert len(fake.requests) == 2 and len(sleep.delays) == 1


def test_is_transient_false_read_not_retried() -> None:
    fake = Fake(gerr(1, is_transient=False), ok(STATUS_OK))
    client, sleep = make(fake)
    with pytest.raises(InvalidRequestError):
        client.get_container_status("c1", TOKEN)
    assert len(fake.requests) == 1 and sleep.delays == []


@pytest.mark.parametrize(
    "first",
    [connect_error(), read_timeout(), httpx.Response(503, text="x"), gerr(1), gerr(-1, 2207001)],
    ids=["connect", "read-timeout", "503", "1", "-1/2207001"],
)
def test_publish_never_retried(first: Item) -> None:
    fake = Fake(first)
    client, sleep = make(fake)
    with pytest.raises(TransientError):
        client.publish("ig1", TOKEN, "c1")
    assert len(fake.requests) == 1 and sleep.delays == []


def test_publish_ok_and_not_ready() -> None:
    fake = Fake(ok({"id": "17900000000000001"}), gerr(9007, 2207027))
    client, _ = make(fake)
    assert client.publish("ig1", TOKEN, "c1") == "17900000000000001"
    req = fake.requests[0]
    assert req.url.path == "/v25.0/ig1/media_publish" and fake.form(0) == {"creation_id": "c1"}
    with pytest.raises(NotReadyError):
        client.publish("ig1", TOKEN, "c1")


def test_publishing_limit() -> None:
    fake = Fake(ok({"data": [{"quota_usage": 3, "config": {"quota_total": 100, "quota_duration": 86400}}]}))
    client, _ = make(fake)
    lim = client.get_publishing_limit("ig1", TOKEN)
    assert (lim.quota_usage, lim.quota_total) == (3, 100)
    assert fake.requests[0].url.path == "/v25.0/ig1/content_publishing_limit"
    assert fake.query() == {"fields": "quota_usage,config"}


# ------------------------------------------------------------------ usage tracking


def test_usage_headers_reach_the_guard_and_block() -> None:
    clock_t = [1_800_000_000.0]
    guard = InMemoryUsageGuard(threshold_pct=90, cooldown_s=60, clock=lambda: clock_t[0])
    hot = {"x-app-usage": json.dumps({"call_count": 95, "total_time": 10, "total_cputime": 10})}
    fake = Fake(
        ok({"data": [{"quota_usage": 0, "config": {"quota_total": 50, "quota_duration": 86400}}]}, hot)
    )
    client, _ = make(fake, usage=guard)
    client.get_publishing_limit("ig1", TOKEN)
    with pytest.raises(RateLimitedError) as info:
        client.create_container("ig1", TOKEN, {"image_url": "https://x/a.jpg"})
    assert info.value.retry_after_s == pytest.approx(60)
    assert len(fake.requests) == 1  # refused before any request


def test_meta_rate_limit_blocks_the_account_for_everyone() -> None:
    guard = InMemoryUsageGuard(cooldown_s=10)
    fake = Fake(gerr(80002))
    client, _ = make(fake, usage=guard)
    with pytest.raises(RateLimitedError):
        client.get_media("m1", TOKEN, account_id="ig1")
    with pytest.raises(RateLimitedError) as info:
        client.get_media("m1", TOKEN, account_id="ig1")
    assert info.value.retry_after_s > 600
    assert len(fake.requests) == 1


def test_every_http_request_counts_including_retries() -> None:
    guard = InMemoryUsageGuard(hourly_budget=3)
    fake = Fake(gerr(2), gerr(2), ok(STATUS_OK))
    client, _ = make(fake, usage=guard)
    client.get_container_status("c1", TOKEN, account_id="ig1")
    assert guard.store.calls_in_window("ig1", guard._clock()) == 3
    with pytest.raises(RateLimitedError):
        client.get_container_status("c1", TOKEN, account_id="ig1")
    assert len(fake.requests) == 3


def test_hourly_budget_through_the_client() -> None:
    guard = InMemoryUsageGuard(hourly_budget=200)
    fake = Fake(*(ok(STATUS_OK) for _ in range(200)))
    client, _ = make(fake, usage=guard)
    for _ in range(200):
        client.get_container_status("c1", TOKEN, account_id="ig1")
    with pytest.raises(RateLimitedError):
        client.get_container_status("c1", TOKEN, account_id="ig1")
    # other accounts are unaffected
    fake.items.append(ok(STATUS_OK))
    client.get_container_status("c1", TOKEN, account_id="ig2")
    assert len(fake.requests) == 201


def test_snapshot_recorded_for_successful_calls() -> None:
    seen: list[tuple[str, UsageSnapshot | None]] = []

    class Spy:
        def before_call(self, account_id: str) -> None:
            seen.append((account_id, None))

        def after_call(self, account_id: str, snapshot: UsageSnapshot | None) -> None:
            seen.append((account_id, snapshot))

    hdr = {"x-business-use-case-usage": json.dumps({"ig1": [{"type": "instagram", "call_count": 12}]})}
    fake = Fake(ok({"id": "c1"}, hdr))
    client = InstagramClient(Settings(), http=httpx.Client(transport=httpx.MockTransport(fake)), usage=Spy())
    client.create_container("ig1", TOKEN, {"image_url": "https://x/a.jpg"})
    assert seen == [("ig1", None), ("ig1", UsageSnapshot(max_pct=12, regain_after_s=0))]


# ------------------------------------------------------------------ Facebook Login + hashtags


def test_facebook_code_exchange_and_long_lived() -> None:
    fake = Fake(
        ok({"access_token": "fb-short", "token_type": "bearer"}),
        ok({"access_token": "fb-long", "expires": 5183944}),
    )
    client, _ = make(fake)
    short = client.exchange_facebook_code("AQD#_=_", "https://x/fb", "fb-app", "fb-secret")
    assert short.expires_in is None
    req = fake.requests[0]
    assert req.method == "GET" and req.url.host == "graph.facebook.com"
    assert req.url.path == "/v25.0/oauth/access_token"
    assert fake.query(0) == {
        "client_id": "fb-app",
        "redirect_uri": "https://x/fb",
        "client_secret": "fb-secret",
        "code": "AQD",
    }
    long_lived = client.exchange_facebook_long_lived("fb-short", "fb-app", "fb-secret")
    assert long_lived.expires_in == 5183944
    assert fake.query(1)["grant_type"] == "fb_exchange_token"
    assert fake.query(1)["fb_exchange_token"] == "fb-short"


def test_facebook_code_reused_is_oauth_error() -> None:
    fake = Fake(gerr(100, 36009))
    client, _ = make(fake)
    with pytest.raises(OAuthError):
        client.exchange_facebook_code("AQD", "https://x/fb", "fb-app", "fb-secret")


def test_facebook_pages_follow_cursors() -> None:
    page1 = {
        "data": [{"id": "p1", "name": "One", "instagram_business_account": {"id": "ig1"}}],
        "paging": {"cursors": {"before": "b", "after": "A1"}, "next": "https://graph.facebook.com/next"},
    }
    page2 = {"data": [{"id": "p2", "name": "Two"}], "paging": {"cursors": {"before": "A1", "after": "A2"}}}
    fake = Fake(ok(page1), ok(page2))
    client, _ = make(fake)
    pages = client.get_facebook_pages(TOKEN)
    assert [p.id for p in pages] == ["p1", "p2"]
    assert pages[0].instagram_business_account is not None
    assert pages[0].instagram_business_account.id == "ig1"
    assert fake.requests[0].url.path == "/v25.0/me/accounts"
    assert fake.query(1)["after"] == "A1"


def test_hashtag_search_and_top_media() -> None:
    media = {
        "data": [
            {"id": "1", "media_type": "IMAGE", "timestamp": "2026-01-01T00:00:00+0000", "like_count": 3},
            {"id": "2", "media_type": "VIDEO", "timestamp": 1767225600},
        ],
        "paging": {"cursors": {"after": "Q"}, "next": "https://graph.facebook.com/next"},
    }
    fake = Fake(ok({"data": [{"id": "17843857450040591"}]}), ok(media))
    client, _ = make(fake)
    assert client.hashtag_search("ig1", TOKEN, "#bluebottle") == "17843857450040591"
    assert fake.requests[0].url.path == "/v25.0/ig_hashtag_search"
    assert fake.query(0) == {"user_id": "ig1", "q": "bluebottle"}
    top = client.hashtag_top_media("17843857450040591", "ig1", TOKEN, limit=2)
    assert [m.id for m in top] == ["1", "2"]
    assert top[0].timestamp == top[1].timestamp
    assert fake.requests[1].url.path == "/v25.0/17843857450040591/top_media"
    assert fake.query(1)["limit"] == "2" and fake.query(1)["user_id"] == "ig1"


def test_hashtag_limit_error() -> None:
    fake = Fake(gerr(18))
    client, _ = make(fake)
    with pytest.raises(HashtagLimitError):
        client.hashtag_search("ig1", TOKEN, "thirtyfirst")


# ------------------------------------------------------------------ secrets never logged


def test_no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = Fake(
        ok({"access_token": TOKEN, "user_id": 1}),
        httpx.Response(500, text="x"),
        ok({"access_token": TOKEN, "token_type": "bearer", "expires_in": 1}),
        ok({"access_token": "fb", "token_type": "bearer"}),
    )
    client, _ = make(fake)
    client.exchange_code(CODE, "https://x/cb", app_secret=SECRET)
    client.exchange_long_lived(TOKEN, app_secret=SECRET)
    client.exchange_facebook_code(CODE, "https://x/fb", "fb-app", SECRET)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records  # we do log (path only)
    for secret in (TOKEN, SECRET, CODE):
        assert secret not in text


def test_network_error_message_has_no_query() -> None:
    fake = Fake(*(connect_error() for _ in range(4)))
    client, _ = make(fake)
    with pytest.raises(NetworkError) as info:
        client.exchange_long_lived(TOKEN, app_secret=SECRET)
    assert "/access_token" in str(info.value)
    assert TOKEN not in str(info.value) and SECRET not in str(info.value)
    assert not info.value.request_sent


def test_list_media() -> None:
    body = {
        "data": [{"id": "m2", "caption": "b"}, {"id": "m1", "caption": "a"}],
        "paging": {"cursors": {"after": "x"}},
    }
    fake = Fake(ok(body))
    client, _ = make(fake)
    media = client.list_media("ig1", TOKEN, limit=10)
    assert [m.id for m in media] == ["m2", "m1"]
    assert fake.requests[0].url.path == "/v25.0/ig1/media"
    assert fake.query()["limit"] == "10"
