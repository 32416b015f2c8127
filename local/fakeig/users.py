"""The IG user node and its edges, /me, and the Facebook Page nodes."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fakeig import insights, oauth, webhooks
from fakeig.containers import create_container
from fakeig.graph_common import FB_USER_KINDS, Auth, pick, require
from fakeig.hashtags import recently_searched
from fakeig.http import (
    GraphError,
    Request,
    Response,
)
from fakeig.media import list_media
from fakeig.publishing import publish, publishing_limit
from fakeig.state import IGUser, Token, digits_from

if TYPE_CHECKING:
    from fakeig.context import FakeState


def user_values(app: FakeState, user: IGUser, id_value: str) -> dict[str, Any]:
    media_count = sum(
        1 for m in app.store.media.values()
        if m.user_id == user.user_id and not m.is_carousel_child and not m.deleted
        and m.media_product_type != "STORY"
    )
    return {
        "id": id_value,
        "user_id": user.user_id,
        "username": user.username,
        "name": user.name,
        "account_type": user.account_type,
        "profile_picture_url": f"https://scontent.cdninstagram.com/fake/{user.username}.jpg",
        "followers_count": 1234,
        "follows_count": 321,
        "media_count": media_count,
        "biography": "",
        "website": None,
        "ig_id": int(digits_from("legacy:" + user.username, 10)),
    }


def read_me(app: FakeState, req: Request, auth: Auth, is_fb: bool) -> Response:
    if is_fb:
        if auth.token.kind == "fb_page":
            return Response.json(read_page(app, auth, req.param("fields")))
        values = {"id": auth.user.fb_user_id, "name": auth.user.fb_user_name}
        return Response.json(pick(values, req.param("fields"), "id,name", "User"))
    data = pick(user_values(app, auth.user, auth.user.id), req.param("fields"), "id", "User")
    if app.config.me_shape == "data":
        return Response.json({"data": [data]})
    return Response.json(data)


def read_page(app: FakeState, auth: Auth, fields: str | None) -> dict[str, Any]:
    user = auth.user
    values = {
        "id": user.page_id,
        "name": user.page_name,
        "instagram_business_account": {"id": user.user_id},
        "category": "Brand",
    }
    return pick(values, fields, "id,name", "Page")


def _page_token(app: FakeState, auth: Auth) -> Token:
    for tok in app.store.tokens.values():
        if tok.kind == "fb_page" and tok.refreshed_from == auth.token.token:
            return tok
    lifetime = None if auth.token.kind == "fb_long" else (
        (auth.token.expires_at or app.now()) - app.now()
    )
    tok = oauth.issue_token(app, "fb_page", auth.user, lifetime, auth.token.scopes, auth.token.app_id)
    tok.refreshed_from = auth.token.token
    return tok


def me_accounts(app: FakeState, req: Request, auth: Auth) -> Response:
    if auth.token.kind not in FB_USER_KINDS:
        raise GraphError(100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
    user = auth.user
    values = {
        "id": user.page_id,
        "name": user.page_name,
        "access_token": _page_token(app, auth).token,
        "instagram_business_account": {"id": user.user_id},
        "category": "Brand",
        "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
    }
    item = pick(values, req.param("fields"), "id,name,access_token,category,tasks", "Page")
    cursor = base64.b64encode(user.page_id.encode()).decode()
    return Response.json({"data": [item], "paging": {"cursors": {"before": cursor, "after": cursor}}})


def user_route(app: FakeState, req: Request, auth: Auth, edge: str | None, is_fb: bool) -> Response:
    method = req.method
    user = auth.user
    if edge is None:
        require(method, "GET", user.user_id)
        return Response.json(pick(user_values(app, user, user.user_id), req.param("fields"), "id", "User"))
    if edge == "media":
        if method == "POST":
            return create_container(app, req, auth, is_fb)
        require(method, "GET", user.user_id)
        return list_media(app, req, user, stories=False)
    if edge == "stories":
        require(method, "GET", user.user_id)
        return list_media(app, req, user, stories=True)
    if edge == "media_publish":
        require(method, "POST", user.user_id)
        return publish(app, req, auth)
    if edge == "content_publishing_limit":
        require(method, "GET", user.user_id)
        return publishing_limit(app, req, user)
    if edge == "subscribed_apps":
        return webhooks.subscribed_apps(app, req, auth)
    if edge == "insights":
        require(method, "GET", user.user_id)
        return insights.account_insights(app, req, auth, user)
    if edge == "recently_searched_hashtags":
        require(method, "GET", user.user_id)
        return recently_searched(app, req, user)
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (User)")
