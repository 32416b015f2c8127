"""Each API family of the Instagram client works on its own, on the HTTP core alone (no other family):
its calls reach the documented paths with the token in the header, and its answers are typed."""

from __future__ import annotations

import httpx
import pytest

from igpub.config import Settings
from igpub.instagram.comments import CommentsApi
from igpub.instagram.core import GraphCore
from igpub.instagram.errors import UnexpectedResponseError
from igpub.instagram.facebook import FacebookApi
from igpub.instagram.insights import InsightsApi
from igpub.instagram.media import MediaApi
from igpub.instagram.publishing import PublishingApi
from igpub.instagram.subscriptions import SubscriptionsApi
from igpub.instagram.tokens import TokensApi
from tests.unit.instagram.test_ig_client import TOKEN, Fake, ok


def family[F: GraphCore](cls: type[F], fake: Fake) -> F:
    return cls(Settings(instagram_app_id="ig-app-id"), http=httpx.Client(transport=httpx.MockTransport(fake)),
               sleep=lambda _s: None, rng=lambda: 0.0)


def test_each_family_is_the_core_plus_its_own_calls_only() -> None:
    own = {
        TokensApi: {"exchange_code", "exchange_long_lived", "refresh_token", "get_me"},
        PublishingApi: {"create_container", "get_container_status", "publish", "get_publishing_limit"},
        MediaApi: {"get_media", "list_media"},
        CommentsApi: {"list_comments", "list_replies", "get_comment", "create_comment", "reply_to_comment",
                      "hide_comment", "delete_comment", "set_comment_enabled"},
        InsightsApi: {"get_media_insights", "get_account_insights"},
        SubscriptionsApi: {"subscribe_app", "get_subscribed_apps"},
        FacebookApi: {"exchange_facebook_code", "exchange_facebook_long_lived", "get_facebook_pages",
                      "get_facebook_user_id", "hashtag_search", "hashtag_top_media"},
    }
    for cls, names in own.items():
        assert cls.__mro__[1] is GraphCore
        public = {n for n in vars(cls) if not n.startswith("_")}
        assert public == names, cls.__name__


def test_publishing_alone() -> None:
    fake = Fake(ok({"id": "c1"}), ok({"id": "c1", "status_code": "FINISHED"}), ok({"id": "m1"}))
    api = family(PublishingApi, fake)
    assert api.create_container("17841", TOKEN, {"image_url": "https://x/y.jpg", "is_carousel_item": False}).id == "c1"
    assert api.get_container_status("c1", TOKEN).status_code == "FINISHED"
    assert api.publish("17841", TOKEN, "c1") == "m1"
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("POST", "/v25.0/17841/media"), ("GET", "/v25.0/c1"), ("POST", "/v25.0/17841/media_publish")]
    assert fake.form(0)["is_carousel_item"] == "false"
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in fake.requests)


def test_media_and_insights_alone() -> None:
    fake = Fake(ok({"data": [{"id": "m2"}, {"id": "m1"}]}), ok({"data": [{"name": "reach", "values": [{"value": 7}]}]}))
    assert [m.id for m in family(MediaApi, fake).list_media("17841", TOKEN, limit=2)] == ["m2", "m1"]
    metrics = family(InsightsApi, fake).get_media_insights("m1", TOKEN, ["reach"], account_id="17841")
    assert [(m.name, m.values[0]["value"]) for m in metrics] == [("reach", 7)]
    assert fake.requests[1].url.path.endswith("/m1/insights")


def test_comments_alone_writes_are_not_retried() -> None:
    fake = Fake(httpx.Response(500, json={"error": {"code": 2, "message": "temporary"}}))
    with pytest.raises(Exception):  # noqa: B017 - any error: the point is that it is raised after one call
        family(CommentsApi, fake).create_comment("m1", TOKEN, "hi", account_id="17841")
    assert len(fake.requests) == 1


def test_subscriptions_and_tokens_alone() -> None:
    fake = Fake(ok({"success": True}), ok({"data": "not a list"}),
                ok({"user_id": "17841", "username": "me", "id": "app-scoped"}))
    family(SubscriptionsApi, fake).subscribe_app("17841", TOKEN, ["comments", "mentions"])
    assert fake.form(0)["subscribed_fields"] == "comments,mentions"
    with pytest.raises(UnexpectedResponseError):
        family(SubscriptionsApi, fake).get_subscribed_apps("17841", TOKEN)
    assert family(TokensApi, fake).get_me(TOKEN).username == "me"


def test_facebook_alone_uses_graph_facebook() -> None:
    fake = Fake(ok({"data": [{"id": "h1"}]}))
    assert family(FacebookApi, fake).hashtag_search("17841", TOKEN, "#Sunrise") == "h1"
    assert fake.query(0)["q"] == "Sunrise"
    assert fake.requests[0].url.host != Settings(instagram_app_id="x").graph_url("me").split("/")[2]
