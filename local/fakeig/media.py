"""Published media: reads, the comment_enabled toggle, listing.

https://developers.facebook.com/docs/instagram-platform/reference/instagram-media"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakeig import comments, insights
from fakeig.graph_common import Auth, paged, pick, require, truthy
from fakeig.http import (
    GraphError,
    Request,
    Response,
    missing_param,
    parse_fields,
    unsupported,
)
from fakeig.state import IGUser, Media, iso

if TYPE_CHECKING:
    from fakeig.context import FakeState


def media_values(app: FakeState, m: Media, fields: str | None) -> dict[str, Any]:
    user = app.store.users[m.user_id]
    permalink: str | None = None
    if not m.is_carousel_child:
        if m.media_product_type == "REELS":
            permalink = f"https://www.instagram.com/reel/{m.shortcode}/"
        elif m.media_product_type == "STORY":
            permalink = f"https://www.instagram.com/stories/{user.username}/{m.id}/"
        else:
            permalink = f"https://www.instagram.com/p/{m.shortcode}/"
    values: dict[str, Any] = {
        "id": m.id,
        "media_type": m.media_type,
        "media_product_type": m.media_product_type,
        "media_url": None if m.media_type == "CAROUSEL_ALBUM" else m.media_url,
        "thumbnail_url": m.media_url if m.media_type == "VIDEO" else None,
        "permalink": permalink,
        "shortcode": m.shortcode,
        "timestamp": iso(m.timestamp),
        "username": user.username,
        "caption": m.caption,
        "comments_count": sum(1 for c in app.store.comments.values() if c.media_id == m.id and not c.deleted),
        "like_count": 0,
        "is_comment_enabled": m.comment_enabled,
        "is_shared_to_feed": m.share_to_feed,
        "owner": {"id": user.user_id},
        "children": None,
    }
    wanted = parse_fields(fields or "id")
    if "children" in wanted and m.children:
        sub = wanted["children"] or "id"
        values["children"] = {
            "data": [media_values(app, app.store.media[cid], sub) for cid in m.children]
        }
    return pick(values, fields, "id", "IGMedia")


def media_route(app: FakeState, req: Request, auth: Auth, m: Media, edge: str | None, is_fb: bool) -> Response:
    method = req.method
    if edge is None:
        if method == "GET":
            return Response.json(media_values(app, m, req.param("fields")))
        if method == "POST":
            if req.param("comment_enabled") is None:
                raise missing_param("comment_enabled")
            m.comment_enabled = truthy(req.param("comment_enabled"))
            return Response.json({"success": True})
        if method == "DELETE" and is_fb:
            m.deleted = True
            return Response.json({"success": True, "deleted_id": m.id})
        raise unsupported(method, m.id)
    if edge == "children":
        require(method, "GET", m.id)
        data = [media_values(app, app.store.media[cid], req.param("fields")) for cid in m.children]
        return Response.json({"data": data})
    if edge == "comments":
        return comments.media_comments(app, req, auth, m)
    if edge == "insights":
        return insights.media_insights(app, req, auth, m)
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (IGMedia)")


def list_media(app: FakeState, req: Request, user: IGUser, stories: bool) -> Response:
    now = app.now()
    items = [
        m for m in app.store.media.values()
        if m.user_id == user.user_id and not m.is_carousel_child and not m.deleted
        and (m.media_product_type == "STORY") == stories
        and (not stories or m.timestamp > now - 86400)
    ]
    if req.param("since"):
        items = [m for m in items if m.timestamp >= float(req.param("since"))]
    if req.param("until"):
        items = [m for m in items if m.timestamp <= float(req.param("until"))]
    items.sort(key=lambda m: (m.timestamp, m.id), reverse=True)
    rendered = [media_values(app, m, req.param("fields")) for m in items]
    return Response.json(paged(req, rendered, 25, 100))
