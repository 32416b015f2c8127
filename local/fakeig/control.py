"""The ``/_fake/...`` control API used by tests and the demo (JSON in, JSON out)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fakeig import comments, containers, deauth, media, webhooks
from fakeig.config import merge_config
from fakeig.faults import FaultRule
from fakeig.http import Request, Response
from fakeig.state import IGUser, Media, make_user

if TYPE_CHECKING:
    from fakeig.context import FakeState


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _body(req: Request) -> Any:
    if not req.body:
        return {}
    try:
        return json.loads(req.body)
    except ValueError:
        raise ControlError("body must be JSON") from None


def handle(app: FakeState, req: Request) -> Response:
    try:
        return _handle(app, req)
    except ControlError as exc:
        return Response.json({"error": str(exc)}, status=exc.status)
    except ValidationError as exc:
        return Response.json({"error": "invalid payload", "details": json.loads(exc.json())}, status=400)


def _user(app: FakeState, key: str) -> IGUser:
    user = app.store.find_user(key)
    if user is None:
        raise ControlError(f"unknown user {key}", 404)
    return user


def _media(app: FakeState, media_id: str) -> Media:
    item = app.store.media.get(media_id)
    if item is None or item.deleted:
        raise ControlError(f"unknown media {media_id}", 404)
    return item


def _callback(app: FakeState, user: IGUser, action: str, req: Request) -> Response:
    opts = deauth.CallbackOptions.model_validate(_body(req) or {})
    try:
        return Response.json(deauth.send(app, user, action, opts))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ControlError(str(exc)) from None


def _handle(app: FakeState, req: Request) -> Response:
    m = req.method
    segs = [s for s in req.path.split("/") if s]
    store = app.store
    with store.lock:
        now = app.now()
        match segs:
            case ["health"]:
                return Response.json({"ok": True, "now": now})
            case ["reset"] if m == "POST":
                body = _body(req)
                app.reset(keep_config=bool(isinstance(body, dict) and body.get("keep_config")))
                return Response.json({"ok": True})
            case ["config"] if m == "GET":
                return Response.json(app.config.model_dump())
            case ["config"] if m == "POST":
                patch = _body(req)
                if not isinstance(patch, dict):
                    raise ControlError("config patch must be an object")
                app.config = merge_config(app.config, patch)
                return Response.json(app.config.model_dump())
            case ["clock"] if m == "GET":
                return Response.json({"now": now, "offset": app.clock.offset})
            case ["clock", "advance"] if m == "POST":
                app.clock.advance(float(_body(req).get("seconds", 0)))
                return Response.json({"now": app.now(), "offset": app.clock.offset})
            case ["clock", "set"] if m == "POST":
                app.clock.set(float(_body(req)["now"]))
                return Response.json({"now": app.now(), "offset": app.clock.offset})
            case ["users"] if m == "GET":
                return Response.json({"data": [u.public() for u in store.users.values()]})
            case ["users"] if m == "POST":
                body = _body(req)
                if not body.get("username"):
                    raise ControlError("username is required")
                account_type = body.get("account_type", "Business")
                if account_type not in ("Business", "Media_Creator"):
                    raise ControlError("account_type must be Business or Media_Creator")
                user = store.add_user(make_user(body["username"], account_type, body.get("name")))
                return Response.json(user.public())
            case ["users", key] if m == "GET":
                return Response.json(_user(app, key).public())
            case ["users", key, "tokens"] if m == "GET":
                user = _user(app, key)
                toks = [t.public(now) for t in store.tokens.values() if t.user_id == user.user_id]
                toks.sort(key=lambda t: t["issued_at"])
                return Response.json({"data": toks})
            case ["users", key, "revoke"] if m == "POST":
                user = _user(app, key)
                subcode = int(_body(req).get("subcode", 460))
                count = 0
                for tok in store.tokens.values():
                    if tok.user_id == user.user_id and tok.revoked_subcode is None:
                        tok.revoked_subcode = subcode
                        tok.revoked_at = now
                        count += 1
                return Response.json({"revoked": count, "subcode": subcode})
            case ["users", key, "remove-app"] if m == "POST":
                # The person removes the app (Settings > Apps and websites): tokens revoked, deauthorize callback.
                return _callback(app, _user(app, key), "deauthorize", req)
            case ["users", key, "request-deletion"] if m == "POST":
                # The person asks for their data to be deleted: the data deletion callback.
                return _callback(app, _user(app, key), "data_deletion", req)
            case ["tokens"] if m == "GET":
                return Response.json({"data": [t.public(now) for t in store.tokens.values()]})
            case ["tokens", "age"] if m == "POST":
                body = _body(req)
                seconds = float(body.get("seconds", 0))
                targets = [
                    t for t in store.tokens.values()
                    if t.token == body.get("token")
                    or (body.get("user_id") and (u := store.find_user(str(body["user_id"])))
                        and t.user_id == u.user_id)
                ]
                for tok in targets:
                    tok.issued_at -= seconds
                    if tok.expires_at is not None:
                        tok.expires_at -= seconds
                return Response.json({"aged": len(targets)})
            case ["containers"] if m == "GET":
                uid = req.query.get("user_id")
                items = [
                    containers.container_public(app, c) for c in store.containers.values()
                    if not uid or c.user_id == _user(app, uid).user_id
                ]
                return Response.json({"data": items})
            case ["containers", cid] if m == "GET":
                c = store.containers.get(cid)
                if c is None:
                    raise ControlError(f"unknown container {cid}", 404)
                return Response.json(containers.container_public(app, c))
            case ["media"] if m == "GET":
                uid = req.query.get("user_id")
                items = [
                    {**asdict(x), "permalink": media.media_values(app, x, "permalink").get("permalink")}
                    for x in store.media.values()
                    if not uid or x.user_id == _user(app, uid).user_id
                ]
                return Response.json({"data": items})
            case ["users", key, "settings"] if m == "POST":
                user = _user(app, key)
                body = _body(req)
                if "private" in body:
                    user.private = bool(body["private"])
                if "followers" in body:
                    user.followers = int(body["followers"])
                return Response.json({**user.public(), "private": user.private, "followers": user.followers,
                                      "subscribed_fields": user.subscribed_fields})
            case ["media", mid, "comments"] if m == "POST":
                # An audience member comments (or replies, with parent_id) on the account's media.
                media_item = _media(app, mid)
                body = _body(req)
                parent = None
                if body.get("parent_id"):
                    parent = store.comments.get(str(body["parent_id"]))
                    if parent is None:
                        raise ControlError(f"unknown comment {body['parent_id']}", 404)
                owner = store.users[media_item.user_id]
                added = comments.add_comment(app, media_item, owner, str(body.get("text") or "Nice!"),
                                             by_owner=False, parent=parent, username=body.get("username"),
                                             author_id=body.get("author_id"))
                return Response.json(asdict(added))
            case ["comments"] if m == "GET":
                mid_filter = req.query.get("media_id")
                items = [asdict(c) for c in store.comments.values() if not mid_filter or c.media_id == mid_filter]
                items.sort(key=lambda c: c["timestamp"])
                return Response.json({"data": items})
            case ["media", mid, "insights"] if m == "POST":
                media_item = _media(app, mid)
                body = _body(req)
                for flag in ("before_conversion", "shared_to_facebook"):
                    if flag in body:
                        setattr(media_item, flag, bool(body.pop(flag)))
                media_item.insights.update({str(k): int(v) for k, v in body.items()})
                return Response.json({"insights": media_item.insights})
            case ["webhooks", "deliveries"] if m == "GET":
                return Response.json({"data": [webhooks.delivery_public(d) for d in store.deliveries]})
            case ["webhooks", "deliveries"] if m == "DELETE":
                store.deliveries.clear()
                return Response.json({"ok": True})
            case ["webhooks", "deliver"] if m == "POST":
                if not app.config.webhook_callback_url:
                    raise ControlError("webhook_callback_url is not configured")
                return Response.json({"data": webhooks.deliver_due(app)})
            case ["webhooks", "send"] if m == "POST":
                # A notification with the given changes, e.g. signed with a wrong secret or unsigned.
                body = _body(req)
                signature = body.get("signature", "valid")
                if signature not in ("valid", "forged", "missing"):
                    raise ControlError("signature must be valid, forged or missing")
                user = _user(app, str(body.get("user_id") or app.config.default_username))
                d = webhooks.enqueue(app, user, list(body.get("changes") or []), signature, body.get("time"))
                return Response.json(webhooks.delivery_public(d))
            case ["webhooks", "test"] if m == "POST":
                # The App Dashboard's "Test" button: canned values, signed like any delivery.
                user = _user(app, str(_body(req).get("user_id") or app.config.default_username))
                d = webhooks.enqueue(app, user, [webhooks.DASHBOARD_TEST_CHANGE])
                return Response.json(webhooks.delivery_public(d))
            case ["webhooks", "verify"] if m == "POST":
                body = _body(req)
                if not app.config.webhook_callback_url:
                    raise ControlError("webhook_callback_url is not configured")
                challenge = int(body.get("challenge", 1158201444))
                return Response.json(webhooks.verify(app, body.get("verify_token"), challenge))
            case ["hashtags"] if m == "GET":
                data = {
                    uid: [{"name": n, "first_query": t} for n, t in sorted(q.items(), key=lambda i: i[1])]
                    for uid, q in store.hashtag_queries.items()
                }
                return Response.json({"data": data})
            case ["calls"] if m == "GET":
                calls = [asdict(c) for c in store.calls]
                host = req.query.get("host")
                if host:
                    calls = [c for c in calls if c["host"] == host]
                return Response.json({"data": calls})
            case ["calls"] if m == "DELETE":
                store.calls.clear()
                return Response.json({"ok": True})
            case ["faults"] if m == "GET":
                return Response.json({"data": [a.public() for a in app.faults.rules]})
            case ["faults"] if m in ("POST", "PUT"):
                body = _body(req)
                raw = body.get("rules", []) if isinstance(body, dict) else body
                if isinstance(raw, dict):
                    raw = [raw]
                rules = [FaultRule.model_validate(r) for r in raw]
                if req.query.get("append") in ("1", "true"):
                    app.faults.add(rules)
                else:
                    app.faults.set(rules)
                return Response.json({"data": [a.public() for a in app.faults.rules]})
            case ["faults"] if m == "DELETE":
                app.faults.clear()
                return Response.json({"ok": True})
            case _:
                raise ControlError(f"unknown control route {m} /_fake{req.path}", 404)
