"""The client's comment, insights and subscription calls against the fake Instagram (real HTTP, in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from fakeig import oauth
from fakeig.testing import FakeInstagram
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import InstagramError, RateLimitedError
from tests.unit.instagram.usage_doubles import InMemoryUsageGuard

SCOPES = ["instagram_business_basic", "instagram_business_content_publish",
          "instagram_business_manage_comments", "instagram_business_manage_insights"]


@dataclass
class Env:
    fake: FakeInstagram
    client: InstagramClient
    usage: InMemoryUsageGuard
    token: str
    ig_id: str

    def media(self) -> str:
        cid = self.client.create_container(
            self.ig_id, self.token, {"image_url": self.fake.url("cdn", "/image.jpg?w=1080&h=1350")}
        ).id
        return self.client.publish(self.ig_id, self.token, cid)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeInstagram]:
    server = FakeInstagram()
    yield server
    server.close()


@pytest.fixture
def env(fake: FakeInstagram) -> Iterator[Env]:
    fake.reset()
    app = fake.app
    with app.store.lock:
        user = next(iter(app.store.users.values()))
        tok = oauth.issue_token(app, "ig_long", user, 5_184_000, SCOPES, app.config.ig_app_id)
    settings = Settings(instagram_app_id="igpub-local-app",
                        graph_instagram_base=fake.url("graph.instagram.com", ""))
    usage = InMemoryUsageGuard()
    client = InstagramClient(settings, usage=usage, sleep=lambda _s: None)
    yield Env(fake, client, usage, tok.token, user.user_id)
    client.close()


def test_comments_create_list_follows_pages_reply_hide_delete(env: Env) -> None:
    media_id = env.media()
    env.fake.configure(comments_page_size=2)
    first = env.client.create_comment(media_id, env.token, "First! #igpub", account_id=env.ig_id)
    for i in range(4):
        env.fake.control.post(f"/media/{media_id}/comments", json={"text": f"fan {i}", "username": "fan"})
    comments = env.client.list_comments(media_id, env.token, account_id=env.ig_id)
    assert len(comments) == 5  # three pages of 2
    own = [c for c in comments if c.written_by(env.ig_id)]
    assert [c.id for c in own] == [first] and own[0].text == "First! #igpub"
    fan = next(c for c in comments if not c.written_by(env.ig_id))
    reply = env.client.reply_to_comment(fan.id, env.token, "Thanks!", account_id=env.ig_id)
    listed = env.client.list_comments(media_id, env.token, account_id=env.ig_id, replies=True)
    assert [r.id for r in next(c for c in listed if c.id == fan.id).replies] == [reply]
    assert [r.text for r in env.client.list_replies(fan.id, env.token, account_id=env.ig_id)] == ["Thanks!"]
    env.client.hide_comment(fan.id, env.token, True, account_id=env.ig_id)
    assert env.client.get_comment(fan.id, env.token, account_id=env.ig_id).hidden is True
    env.client.hide_comment(fan.id, env.token, False, account_id=env.ig_id)
    assert env.client.get_comment(fan.id, env.token, account_id=env.ig_id).hidden is False
    env.client.delete_comment(first, env.token, account_id=env.ig_id)
    assert first not in {c.id for c in env.client.list_comments(media_id, env.token, account_id=env.ig_id)}


def test_create_comment_never_sends_fields_and_is_not_retried(env: Env) -> None:
    media_id = env.media()
    env.fake.faults({"kind": "http_500", "host": "graph.instagram.com",
                     "match": f"^POST /{media_id}/comments$", "times": 1})
    with pytest.raises(InstagramError):
        env.client.create_comment(media_id, env.token, "hello", account_id=env.ig_id)
    posts = [c for c in env.fake.calls("graph.instagram.com") if c["method"] == "POST"
             and c["route"].endswith("/comments")]
    assert len(posts) == 1 and "fields" not in posts[0]["params"]


def test_comment_toggle(env: Env) -> None:
    media_id = env.media()
    env.client.set_comment_enabled(media_id, env.token, False, account_id=env.ig_id)
    with pytest.raises(InstagramError) as info:
        env.client.create_comment(media_id, env.token, "x", account_id=env.ig_id)
    assert info.value.code == 100
    env.client.set_comment_enabled(media_id, env.token, True, account_id=env.ig_id)
    env.client.create_comment(media_id, env.token, "x", account_id=env.ig_id)


def test_media_and_account_insights(env: Env) -> None:
    media_id = env.media()
    env.fake.advance(86_400)
    metrics = env.client.get_media_insights(media_id, env.token, ["reach", "likes", "views"], account_id=env.ig_id)
    assert {m.name for m in metrics} == {"reach", "likes", "views"}
    assert all(isinstance(m.value, int) for m in metrics)
    with pytest.raises(InstagramError) as info:
        env.client.get_media_insights(media_id, env.token, ["navigation"], account_id=env.ig_id)
    assert info.value.code == 100
    account = env.client.get_account_insights(env.ig_id, env.token, ["reach", "likes"])
    assert {m.name for m in account} == {"reach", "likes"} and all(m.value is not None for m in account)


def test_subscribed_apps(env: Env) -> None:
    assert env.client.get_subscribed_apps(env.ig_id, env.token) == []
    env.client.subscribe_app(env.ig_id, env.token, ["comments"])
    assert env.client.get_subscribed_apps(env.ig_id, env.token)[0].subscribed_fields == ["comments"]


def test_engagement_calls_go_through_usage_tracking(env: Env) -> None:
    media_id = env.media()
    env.fake.configure(hourly_call_budget=4)
    with pytest.raises(RateLimitedError):
        for _ in range(10):
            env.client.list_comments(media_id, env.token, account_id=env.ig_id)
    calls_before = len(env.fake.calls())
    with pytest.raises(RateLimitedError):  # refused locally: nothing sent
        env.client.get_media_insights(media_id, env.token, ["reach"], account_id=env.ig_id)
    assert len(env.fake.calls()) == calls_before


def test_http_client_is_the_only_transport() -> None:
    # the methods build URLs from settings: a mock transport sees the documented paths
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={"success": True})

    client = InstagramClient(Settings(instagram_app_id="x"), http=httpx.Client(transport=httpx.MockTransport(handler)))
    client.set_comment_enabled("m1", "t", False, account_id="a")
    client.subscribe_app("a", "t", ["comments"])
    assert seen == ["POST /v25.0/m1", "POST /v25.0/a/subscribed_apps"]
