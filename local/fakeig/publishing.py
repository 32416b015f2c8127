"""media_publish and content_publishing_limit.

https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakeig.containers import container_status
from fakeig.graph_common import Auth, truthy
from fakeig.http import (
    GraphError,
    Request,
    Response,
    invalid_param,
    missing_param,
    parse_fields,
)
from fakeig.state import Container, IGUser, Media, next_id, shortcode_for

if TYPE_CHECKING:
    from fakeig.context import FakeState


def _publishes_in_window(app: FakeState, user_id: str, since: float | None = None) -> int:
    start = app.now() - app.config.quota_duration
    if since is not None:
        start = max(start, since - 1e-9)
    return sum(
        1 for m in app.store.media.values()
        if m.user_id == user_id and not m.is_carousel_child and m.timestamp > start
    )


def publish(app: FakeState, req: Request, auth: Auth) -> Response:
    cfg = app.config
    cid = req.param("creation_id")
    if not cid:
        raise missing_param("creation_id")
    cid = str(cid)
    c = app.store.containers.get(cid)
    not_found = GraphError(
        24,
        "The media builder does not exist or has been expired.",
        2207008,
        user_title="Media builder expired",
        user_msg=f"The media builder with creation id = {cid} does not exist or has been expired.",
    )
    if c is None or c.user_id != auth.user.user_id:
        raise not_found
    if c.is_carousel_item:
        raise GraphError(
            100,
            "Invalid parameter",
            2207089,
            user_title="Carousel item cannot be published standalone",
            user_msg="A carousel item can only be published as part of a carousel.",
        )
    status, _ = container_status(app, c)
    if status == "EXPIRED":
        raise not_found
    if status == "PUBLISHED" and cfg.republish_mode == "error":
        raise GraphError.from_spec(cfg.republish_error)
    if status in ("IN_PROGRESS", "ERROR"):
        raise GraphError(
            9007,
            "Media ID is not available",
            2207027,
            user_title="Media not ready for publishing",
            user_msg="The media is not ready for publishing, please wait for a moment",
        )
    if _publishes_in_window(app, auth.user.user_id) >= cfg.quota_total:
        raise GraphError(
            9,
            "Application request limit reached",
            2207042,
            user_title="Maximum number of posts reached",
            user_msg="You reached maximum number of posts that is allowed to be published by "
            "Content Publishing API.",
        )
    now = app.now()
    media = _make_media(app, c, now, child=False)
    if c.media_type == "CAROUSEL":
        for child_id in c.children:
            child_c = app.store.containers[child_id]
            child_m = _make_media(app, child_c, now, child=True)
            media.children.append(child_m.id)
    return Response.json({"id": media.id})


def _make_media(app: FakeState, c: Container, now: float, child: bool) -> Media:
    if c.media_type == "CAROUSEL":
        media_type, product = "CAROUSEL_ALBUM", "FEED"
    elif c.media_type == "STORIES":
        media_type, product = ("VIDEO" if c.is_video else "IMAGE"), "STORY"
    elif c.media_type == "REELS":
        media_type, product = "VIDEO", "REELS"
    else:
        media_type, product = ("VIDEO" if c.is_video else "IMAGE"), "FEED"
    mid = next_id("18")
    share = c.params.get("share_to_feed")
    m = Media(
        id=mid,
        user_id=c.user_id,
        container_id=c.id,
        media_type=media_type,
        media_product_type=product,
        timestamp=now,
        caption=None if child else (c.params.get("caption") or None),
        shortcode=shortcode_for(mid),
        media_url=c.params.get("video_url") or c.params.get("image_url"),
        is_carousel_child=child,
        share_to_feed=(truthy(share) if share is not None else True) if product == "REELS" else None,
    )
    app.store.media[mid] = m
    c.media_ids.append(mid)
    c.published_at = now
    return m


def publishing_limit(app: FakeState, req: Request, user: IGUser) -> Response:
    cfg = app.config
    since: float | None = None
    if req.param("since") not in (None, ""):
        try:
            since = float(req.param("since"))
        except (TypeError, ValueError):
            raise invalid_param("since must be a unix timestamp.") from None
    values = {
        "quota_usage": _publishes_in_window(app, user.user_id, since),
        "config": {"quota_total": cfg.quota_total, "quota_duration": cfg.quota_duration},
    }
    wanted = parse_fields(req.param("fields") or "quota_usage")
    item: dict[str, Any] = {}
    for name in wanted:
        if name not in values:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name})")
        item[name] = values[name]
    return Response.json({"data": [item]})
