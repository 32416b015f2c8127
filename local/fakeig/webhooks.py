"""Webhook notifications: per-account subscription, signed deliveries, retries, verification.

https://developers.facebook.com/docs/instagram-platform/webhooks
https://developers.facebook.com/docs/instagram-platform/webhooks/examples
https://developers.facebook.com/docs/instagram-platform/self-messaging

A notification is sent only when the app has a callback URL (``webhook_callback_url``), the app is
Live, the field is subscribed at app level (``webhook_fields``) and the account enabled the app with
``POST /{ig-id}/subscribed_apps`` and is public. The body is signed with HMAC-SHA256 of the exact
bytes (``X-Hub-Signature-256: sha256=<hex>``). A non-200 answer is retried after the delays in
``webhook_retry_delays_seconds`` (measured on the fake's clock), then the notification is dropped.
Deliveries are sent when the control API asks (``POST /_fake/webhooks/deliver``), so tests decide
when; ``webhook_duplicates`` makes the fake repeat a delivered notification like Meta may.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

import httpx

from fakeig.graph_common import Auth
from fakeig.http import GraphError, Request, Response, missing_param
from fakeig.state import Comment, Delivery, IGUser, Media, next_id
from fakeig.tls import tls_context

if TYPE_CHECKING:
    from fakeig.context import FakeState

WEBHOOK_FIELDS = ("comments", "live_comments", "messages", "message_reactions", "messaging_postbacks",
                  "messaging_referral", "messaging_seen", "messaging_optins", "messaging_handover",
                  "standby", "message_edit", "message_echoes")

# The App Dashboard's "Test" payload for `comments` (values seen in many public clients).
DASHBOARD_TEST_CHANGE: dict[str, Any] = {
    "field": "comments",
    "value": {"from": {"id": "232323232", "username": "test"}, "media": {"id": "123123123",
              "media_product_type": "FEED"}, "id": "17865799348089039", "parent_id": "1231231234",
              "text": "This is an example."},
}


def secret(app: FakeState) -> str:
    """The key deliveries are signed with (config ``webhook_signed_with``)."""
    cfg = app.config
    if cfg.webhook_signed_with == "meta_app_secret":
        return cfg.fb_app_secret
    if cfg.webhook_signed_with == "other":
        return cfg.webhook_secret or "a-third-secret-neither-app-secret"
    return cfg.webhook_secret or cfg.ig_app_secret


def sign(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------------------
# /{ig-id}/subscribed_apps


def subscribed_apps(app: FakeState, req: Request, auth: Auth) -> Response:
    user = auth.user
    if req.method == "POST":
        raw = req.param("subscribed_fields")
        if raw in (None, ""):
            raise missing_param("subscribed_fields")
        fields = [f.strip() for f in str(raw).split(",") if f.strip()]
        bad = [f for f in fields if f not in WEBHOOK_FIELDS]
        if bad:
            raise GraphError(100, f"(#100) Param subscribed_fields must be one of {{{', '.join(WEBHOOK_FIELDS)}}} "
                             f"- got \"{bad[0]}\".")
        user.subscribed_fields = fields
        return Response.json({"success": True})
    if req.method == "DELETE":
        user.subscribed_fields = []
        return Response.json({"success": True})
    data = ([{"id": app.config.ig_app_id, "subscribed_fields": user.subscribed_fields}]
            if user.subscribed_fields else [])
    return Response.json({"data": data})


# ----------------------------------------------------------------------------------------------
# Building notifications


def _wanted(app: FakeState, user: IGUser, field: str) -> bool:
    cfg = app.config
    return bool(
        cfg.webhook_callback_url and cfg.app_live and not user.private and user.subscribed_fields
        and field in cfg.webhook_fields
    )


def comment_value(app: FakeState, user: IGUser, media: Media, c: Comment) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": c.author_id, "username": c.username}
    if c.by_owner and app.config.own_comment_self_id:
        sender["self_ig_scoped_id"] = user.igsid
    value: dict[str, Any] = {
        "from": sender,
        "media": {"id": media.id, "media_product_type": media.media_product_type},
        "id": c.id,
        "text": c.text,
    }
    if c.parent_id:
        value["parent_id"] = c.parent_id
    return value


def enqueue_comment(app: FakeState, user: IGUser, media: Media, c: Comment) -> None:
    if not _wanted(app, user, "comments"):
        return
    mentioned = f"@{user.username}".lower() in c.text.lower() and not c.by_owner
    if mentioned and app.config.mention_field == "mentions":
        change = {"field": "mentions", "value": {"media_id": media.id, "comment_id": c.id}}
    else:
        change = {"field": "comments", "value": comment_value(app, user, media, c)}
    enqueue(app, user, [change])


def enqueue(app: FakeState, user: IGUser, changes: list[dict[str, Any]], signature: str = "valid",
            entry_time: int | None = None) -> Delivery:
    envelope = {
        "object": "instagram",
        "entry": [{"id": user.user_id, "time": entry_time or int(app.now()), "changes": changes}],
    }
    d = Delivery(
        id=next_id("wh"),
        body=json.dumps(envelope, separators=(",", ":")).encode(),
        signature=signature,
        next_at=app.now(),
        redeliveries_left=app.config.webhook_duplicates,
    )
    app.store.deliveries.append(d)
    return d


# ----------------------------------------------------------------------------------------------
# Sending (called by the control API; the store lock is held by the caller)


def _headers(app: FakeState, d: Delivery) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if d.signature == "valid":
        headers["X-Hub-Signature-256"] = sign(secret(app), d.body)
    elif d.signature == "forged":
        headers["X-Hub-Signature-256"] = sign("not-the-app-secret", d.body)
    return headers


def deliver_due(app: FakeState) -> list[dict[str, Any]]:
    """Send every pending delivery that is due on the fake's clock; schedule retries; report."""
    cfg = app.config
    url = cfg.webhook_callback_url
    now = app.now()
    due = [d for d in app.store.deliveries if d.state == "pending" and d.next_at <= now]
    report = []
    for d in due:
        headers = _headers(app, d)
        with app.unlocked():
            try:
                resp = httpx.post(url, content=d.body, headers=headers, timeout=cfg.webhook_timeout_seconds,
                                  verify=tls_context())
                status: int | str = resp.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
        d.attempts.append({"time": app.now(), "status": status})
        if status == 200:
            if d.redeliveries_left > 0:
                d.redeliveries_left -= 1
            else:
                d.state = "delivered"
        else:
            failures = sum(1 for a in d.attempts if a["status"] != 200)
            delays = cfg.webhook_retry_delays_seconds
            if failures > len(delays):
                d.state = "dropped"
            else:
                d.next_at = app.now() + delays[failures - 1]
        report.append(delivery_public(d))
    return report


def delivery_public(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "state": d.state,
        "signature": d.signature,
        "next_at": d.next_at,
        "attempts": d.attempts,
        "payload": json.loads(d.body),
    }


def verify(app: FakeState, token: str | None, challenge: int) -> dict[str, Any]:
    """Meta's verification GET against the callback; returns what came back."""
    url = app.config.webhook_callback_url
    params = {
        "hub.mode": "subscribe",
        "hub.challenge": str(challenge),
        "hub.verify_token": token if token is not None else app.config.webhook_verify_token,
    }
    with app.unlocked():
        try:
            resp = httpx.get(url, params=params, timeout=app.config.webhook_timeout_seconds, verify=tls_context())
        except httpx.HTTPError as exc:
            return {"ok": False, "status": type(exc).__name__, "body": ""}
    ok = resp.status_code == 200 and resp.text.strip() == str(challenge)
    return {"ok": ok, "status": resp.status_code, "body": resp.text}
