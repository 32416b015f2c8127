"""Comments, insights and webhook deliveries on the fake (its control API drives the audience,
the clock and the deliveries)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_helpers import APP_SECRET, IG, error_of

ALL_SCOPES = ("instagram_business_basic,instagram_business_content_publish,"
              "instagram_business_manage_comments,instagram_business_manage_insights")


@pytest.fixture
def eng(ig: IG) -> IG:
    return ig.login(scope=ALL_SCOPES)


def _post_media(user: IG, **data: Any) -> str:
    cid = user.image(**data)
    resp = user.publish(cid)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def _comment(user: IG, media_id: str, text: str, **extra: Any) -> str:
    resp = user.post(f"/{media_id}/comments", message=text, **extra)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


# ---------------------------------------------------------------------------------------------
# Comments


def test_comment_scope_is_required(user: IG) -> None:
    media_id = _post_media(user)
    resp = user.get(f"/{media_id}/comments")
    assert resp.status_code == 400 and error_of(resp)["code"] == 10


def test_comments_newest_first_top_level_only_paged(eng: IG) -> None:
    media_id = _post_media(eng)
    ids = []
    for i in range(7):
        eng.advance(1)
        ids.append(eng.ctl("POST", f"/media/{media_id}/comments", json={"text": f"c{i}", "username": "fan"})["id"])
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "a reply", "parent_id": ids[0]})
    first = eng.get(f"/{media_id}/comments", limit=3).json()
    assert [c["text"] for c in first["data"]] == ["c6", "c5", "c4"]
    assert set(first["data"][0]) == {"timestamp", "text", "id"}
    seen = list(first["data"])
    url = first["paging"].get("next")
    while url:
        page = eng.http.get(url.split(f":{eng.fake.port}", 1)[1]).json()
        seen += page["data"]
        url = page.get("paging", {}).get("next")
    assert [c["id"] for c in seen] == list(reversed(ids))
    expanded = eng.get(f"/{media_id}/comments", fields="id,text,replies{id,text,parent_id}", limit=50).json()
    oldest = expanded["data"][-1]
    assert oldest["replies"]["data"][0]["text"] == "a reply"
    assert oldest["replies"]["data"][0]["parent_id"] == ids[0]
    assert eng.get(f"/{media_id}/comments", limit=500).json()["data"].__len__() == 7


def test_own_comment_has_user_audience_comment_has_username(eng: IG) -> None:
    media_id = _post_media(eng)
    own = _comment(eng, media_id, "First! #tag")
    fan = eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi", "username": "fan"})["id"]
    own_c = eng.get(f"/{own}", fields="id,user,username,from,media").json()
    assert own_c["user"] == {"id": eng.user_id}
    assert own_c["media"]["id"] == media_id
    fan_c = eng.get(f"/{fan}", fields="id,user,username").json()
    assert "user" not in fan_c and fan_c["username"] == "fan"


def test_reply_to_reply_reparents_and_hidden_refuses_replies(eng: IG) -> None:
    media_id = _post_media(eng)
    top = eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "q?"})["id"]
    r1 = eng.post(f"/{top}/replies", message="answer").json()["id"]
    r2 = eng.post(f"/{r1}/replies", message="more").json()["id"]
    assert eng.get(f"/{r2}", fields="parent_id").json()["parent_id"] == top
    assert eng.post(f"/{top}", hide="true").json() == {"success": True}
    assert eng.get(f"/{top}", fields="hidden").json()["hidden"] is True
    refused = eng.post(f"/{top}/replies", message="x")
    assert refused.status_code == 400 and "hidden" in error_of(refused)["message"]
    eng.post(f"/{top}", hide="false")
    assert eng.get(f"/{top}", fields="hidden").json()["hidden"] is False


def test_own_comment_stays_visible_and_delete_removes(eng: IG) -> None:
    media_id = _post_media(eng)
    own = _comment(eng, media_id, "mine")
    eng.post(f"/{own}", hide="true")
    assert eng.get(f"/{own}", fields="hidden").json()["hidden"] is False
    resp = eng.http.delete(f"/graph.instagram.com/v25.0/{own}", params={"access_token": eng.token})
    assert resp.json() == {"success": True}
    gone = eng.get(f"/{own}")
    assert error_of(gone)["code"] == 100 and error_of(gone)["error_subcode"] == 33
    assert eng.get(f"/{media_id}/comments").json()["data"] == []


def test_comments_disabled_too_long_and_write_cap(eng: IG) -> None:
    media_id = _post_media(eng)
    assert eng.post(f"/{media_id}", comment_enabled="false").json() == {"success": True}
    assert "disabled" in error_of(eng.post(f"/{media_id}/comments", message="x"))["message"]
    eng.post(f"/{media_id}", comment_enabled="true")
    eng.config(comment_max_length=10)
    assert "too long" in error_of(eng.post(f"/{media_id}/comments", message="x" * 11))["message"]
    eng.config(comment_max_length=0, comment_hourly_write_cap=2)
    _comment(eng, media_id, "one")
    _comment(eng, media_id, "two")
    assert error_of(eng.post(f"/{media_id}/comments", message="three"))["code"] == 4
    eng.advance(3601)
    _comment(eng, media_id, "three")


def test_fields_on_create_posts_then_errors(eng: IG) -> None:
    media_id = _post_media(eng)
    resp = eng.post(f"/{media_id}/comments", message="hello", fields="id")
    err = error_of(resp)
    assert (err["code"], err["error_subcode"]) == (20, 1772107)
    assert [c["text"] for c in eng.ctl("GET", f"/comments?media_id={media_id}")["data"]] == ["hello"]
    eng.config(comment_fields_quirk=False)
    assert eng.post(f"/{media_id}/comments", message="again", fields="id").status_code == 200


# ---------------------------------------------------------------------------------------------
# Insights


def test_media_insights_per_type_and_growth(eng: IG) -> None:
    media_id = _post_media(eng)
    eng.advance(3600)
    early = eng.get(f"/{media_id}/insights", metric="reach,likes,views").json()["data"]
    assert {i["name"] for i in early} == {"reach", "likes", "views"}
    assert all(i["period"] == "lifetime" and isinstance(i["values"][0]["value"], int) for i in early)
    assert early[0]["id"] == f"{media_id}/insights/{early[0]['name']}/lifetime"
    eng.advance(7 * 86400)
    late = {i["name"]: i["values"][0]["value"] for i in
            eng.get(f"/{media_id}/insights", metric="reach,likes,views").json()["data"]}
    assert late["reach"] > {i["name"]: i["values"][0]["value"] for i in early}["reach"]
    eng.ctl("POST", f"/media/{media_id}/insights", json={"reach": 4569})
    assert eng.get(f"/{media_id}/insights", metric="reach").json()["data"][0]["values"] == [{"value": 4569}]


def test_media_insights_errors(eng: IG) -> None:
    media_id = _post_media(eng)
    wrong = error_of(eng.get(f"/{media_id}/insights", metric="reach,navigation"))
    assert wrong["code"] == 100
    assert "does not support the navigation metric for this media product type" in wrong["message"]
    unknown = error_of(eng.get(f"/{media_id}/insights", metric="reach,engagement"))
    assert unknown["message"].startswith("(#100) metric[1] must be one of the following values: ")
    assert error_of(eng.get(f"/{media_id}/insights", metric="impressions"))["code"] == 100
    assert error_of(eng.get(f"/{media_id}/insights", metric="reach", breakdown="action_type"))["message"] == (
        "An unknown error has occurred.")
    eng.ctl("POST", f"/media/{media_id}/insights", json={"before_conversion": True})
    assert error_of(eng.get(f"/{media_id}/insights", metric="reach"))["error_subcode"] == 2108006
    # publishing scopes only: no insights
    basic = IG(eng.fake).login()
    assert error_of(basic.get(f"/{media_id}/insights", metric="reach"))["code"] == 10
    basic.http.close()


def test_story_insights_min_viewers_and_24h(eng: IG) -> None:
    cid = eng.create_ok(media_type="STORIES", image_url=eng.cdn("image.jpg?w=1080&h=1920"))
    media_id = eng.publish(cid).json()["id"]
    eng.ctl("POST", f"/media/{media_id}/insights", json={"reach": 3})
    err = error_of(eng.get(f"/{media_id}/insights", metric="reach"))
    assert err["code"] == 10 and "Not enough viewers" in err["message"]
    eng.ctl("POST", f"/media/{media_id}/insights", json={"reach": 30, "navigation": 12})
    assert eng.get(f"/{media_id}/insights", metric="reach,navigation").json()["data"][0]["values"][0]["value"]
    eng.advance(86401)
    assert eng.get(f"/{media_id}/insights", metric="reach").json() == {"data": []}


def test_account_insights_shapes_and_span(eng: IG) -> None:
    _post_media(eng)
    eng.advance(86400)
    now = int(eng.ctl("GET", "/clock")["now"])
    total = eng.get(f"/{eng.user_id}/insights", metric="reach,likes", period="day", metric_type="total_value",
                    since=now - 2 * 86400, until=now).json()["data"]
    assert {i["name"] for i in total} == {"reach", "likes"}
    assert all(isinstance(i["total_value"]["value"], int) for i in total)
    series = eng.get(f"/{eng.user_id}/insights", metric="reach", period="day", since=now - 3 * 86400,
                     until=now).json()["data"][0]
    assert len(series["values"]) == 3 and "end_time" in series["values"][0]
    assert "metric_type=total_value" in error_of(eng.get(f"/{eng.user_id}/insights", metric="likes"))["message"]
    span = error_of(eng.get(f"/{eng.user_id}/insights", metric="reach", since=now - 31 * 86400, until=now))
    assert "30 days" in span["message"]


# ---------------------------------------------------------------------------------------------
# Webhooks


class _Receiver:
    """A callback endpoint that records what arrives and answers with a scripted status."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, dict[str, str]]] = []
        self.statuses: list[int] = []
        self.verify_token = "vt"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                q = parse_qs(urlsplit(self.path).query)
                ok = q.get("hub.mode") == ["subscribe"] and q.get("hub.verify_token") == [outer.verify_token]
                body = q["hub.challenge"][0].encode() if ok else b"forbidden"
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append((body, {k.lower(): v for k, v in self.headers.items()}))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


def _subscribe(eng: IG, receiver: _Receiver) -> None:
    eng.config(webhook_callback_url=receiver.url, webhook_retry_delays_seconds=[0, 60, 600])
    assert eng.post(f"/{eng.user_id}/subscribed_apps", subscribed_fields="comments").json() == {"success": True}


def test_verification_handshake(eng: IG, receiver: _Receiver) -> None:
    eng.config(webhook_callback_url=receiver.url)
    assert eng.ctl("POST", "/webhooks/verify", json={"verify_token": "vt", "challenge": 42}) == {
        "ok": True, "status": 200, "body": "42"}
    assert eng.ctl("POST", "/webhooks/verify", json={"verify_token": "nope"})["status"] == 403


def test_no_delivery_without_account_subscription(eng: IG, receiver: _Receiver) -> None:
    eng.config(webhook_callback_url=receiver.url)
    media_id = _post_media(eng)
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi"})
    assert eng.ctl("GET", "/webhooks/deliveries")["data"] == []
    assert eng.get(f"/{eng.user_id}/subscribed_apps").json() == {"data": []}


def test_signed_comment_delivery_and_own_comment_marker(eng: IG, receiver: _Receiver) -> None:
    _subscribe(eng, receiver)
    assert eng.get(f"/{eng.user_id}/subscribed_apps").json()["data"][0]["subscribed_fields"] == ["comments"]
    media_id = _post_media(eng)
    fan = eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "Nice shot", "username": "fan"})
    own = _comment(eng, media_id, "First comment")
    report = eng.ctl("POST", "/webhooks/deliver")["data"]
    assert [d["state"] for d in report] == ["delivered", "delivered"]
    assert len(receiver.bodies) == 2
    for body, headers in receiver.bodies:
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-hub-signature-256"] == expected
    first = json.loads(receiver.bodies[0][0])
    assert first["object"] == "instagram" and first["entry"][0]["id"] == eng.user_id
    value = first["entry"][0]["changes"][0]["value"]
    assert first["entry"][0]["changes"][0]["field"] == "comments"
    assert value["id"] == fan["id"] and value["from"]["username"] == "fan"
    assert "self_ig_scoped_id" not in value["from"]
    own_value = json.loads(receiver.bodies[1][0])["entry"][0]["changes"][0]["value"]
    assert own_value["id"] == own and own_value["from"]["id"] == eng.user_id
    assert own_value["from"]["self_ig_scoped_id"]


def test_retry_on_non_200_then_drop(eng: IG, receiver: _Receiver) -> None:
    _subscribe(eng, receiver)
    media_id = _post_media(eng)
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi"})
    receiver.statuses = [500, 500, 500, 500]
    assert eng.ctl("POST", "/webhooks/deliver")["data"][0]["state"] == "pending"
    assert eng.ctl("POST", "/webhooks/deliver")["data"][0]["state"] == "pending"  # first retry at once
    assert eng.ctl("POST", "/webhooks/deliver")["data"] == []  # next retry is 60 s later
    eng.advance(61)
    eng.ctl("POST", "/webhooks/deliver")
    eng.advance(601)
    assert eng.ctl("POST", "/webhooks/deliver")["data"][0]["state"] == "dropped"
    assert len(receiver.bodies) == 4
    assert len({b for b, _ in receiver.bodies}) == 1  # the same bytes each time


def test_retry_succeeds_and_duplicates(eng: IG, receiver: _Receiver) -> None:
    _subscribe(eng, receiver)
    eng.config(webhook_duplicates=1)
    media_id = _post_media(eng)
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi"})
    receiver.statuses = [503]
    eng.ctl("POST", "/webhooks/deliver")
    eng.ctl("POST", "/webhooks/deliver")
    eng.ctl("POST", "/webhooks/deliver")
    states = eng.ctl("GET", "/webhooks/deliveries")["data"]
    assert states[0]["state"] == "delivered" and [a["status"] for a in states[0]["attempts"]] == [503, 200, 200]


def test_forged_and_unsigned_sends_and_private_account(eng: IG, receiver: _Receiver) -> None:
    _subscribe(eng, receiver)
    eng.ctl("POST", "/webhooks/send", json={"signature": "forged", "changes": [{"field": "comments", "value": {}}]})
    eng.ctl("POST", "/webhooks/send", json={"signature": "missing", "changes": [{"field": "comments", "value": {}}]})
    eng.ctl("POST", "/webhooks/deliver")
    forged, unsigned = receiver.bodies
    good = "sha256=" + hmac.new(APP_SECRET.encode(), forged[0], hashlib.sha256).hexdigest()
    assert forged[1]["x-hub-signature-256"] != good
    assert "x-hub-signature-256" not in unsigned[1]
    eng.ctl("POST", f"/users/{eng.user_id}/settings", json={"private": True})
    media_id = _post_media(eng)
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi"})
    assert len(eng.ctl("GET", "/webhooks/deliveries")["data"]) == 2


def test_mention_shape_is_configurable(eng: IG, receiver: _Receiver) -> None:
    _subscribe(eng, receiver)
    media_id = _post_media(eng)
    username = eng.get("/me", fields="username").json()["username"]
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": f"hey @{username}"})
    eng.config(mention_field="mentions")
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hey @IGPUB_DEMO"})
    eng.ctl("POST", "/webhooks/deliver")
    fields = [json.loads(b)["entry"][0]["changes"][0]["field"] for b, _ in receiver.bodies]
    assert fields == ["comments", "mentions"]


def test_reels_metrics_and_feed_refusal(eng: IG) -> None:
    cid = eng.create_ok(media_type="REELS", video_url=eng.cdn("video.mp4?seconds=12&mb=1"))
    eng.advance(60)
    media_id = eng.publish(cid).json()["id"]
    eng.advance(86400)
    names = {i["name"] for i in eng.get(f"/{media_id}/insights",
                                         metric="reach,ig_reels_avg_watch_time,ig_reels_video_view_total_time")
             .json()["data"]}
    assert names == {"reach", "ig_reels_avg_watch_time", "ig_reels_video_view_total_time"}
    assert "follows" in error_of(eng.get(f"/{media_id}/insights", metric="follows"))["message"]
    assert "not shared to Facebook" in error_of(eng.get(f"/{media_id}/insights", metric="crossposted_views"))["message"]
    feed = _post_media(eng)
    err = error_of(eng.get(f"/{feed}/insights", metric="ig_reels_avg_watch_time"))
    assert "does not support the ig_reels_avg_watch_time metric" in err["message"]


def test_dashboard_test_payload(eng: IG, receiver: _Receiver) -> None:
    eng.config(webhook_callback_url=receiver.url)
    eng.ctl("POST", "/webhooks/test", json={})
    eng.ctl("POST", "/webhooks/deliver")
    value = json.loads(receiver.bodies[0][0])["entry"][0]["changes"][0]["value"]
    assert value["from"]["id"] == "232323232" and value["text"] == "This is an example."


@pytest.mark.parametrize(
    ("signed_with", "key"),
    [("instagram_app_secret", "local-app-secret"), ("meta_app_secret", "local-fb-app-secret"),
     ("other", "a-different-secret")],
)
def test_deliveries_are_signed_with_the_configured_secret(
    eng: IG, receiver: _Receiver, signed_with: str, key: str
) -> None:
    """Which secret signs Instagram-Login webhooks is UNCONFIRMED: the fake signs with either app secret, or a
    third one that a receiver must refuse."""
    _subscribe(eng, receiver)
    eng.config(webhook_signed_with=signed_with, webhook_secret="a-different-secret" if signed_with == "other" else "")
    media_id = _post_media(eng)
    eng.ctl("POST", f"/media/{media_id}/comments", json={"text": "hi"})
    eng.ctl("POST", "/webhooks/deliver")
    (body, headers), = receiver.bodies
    assert headers["x-hub-signature-256"] == "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
