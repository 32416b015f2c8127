"""Hashtag search on graph.facebook.com (30 unique hashtags per 7 days).

https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-hashtag-search"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from fakeig.graph_common import FB_USER_KINDS, Auth, page_limit, paged, pick, require
from fakeig.http import (
    GraphError,
    Request,
    Response,
    invalid_param,
    missing_param,
    parse_fields,
    unsupported,
)
from fakeig.state import IGUser, digits_from, hashtag_id, iso, shortcode_for

if TYPE_CHECKING:
    from fakeig.context import FakeState


HASHTAG_EDGES = ("top_media", "recent_media")


def _hashtag_user(app: FakeState, req: Request, auth: Auth) -> IGUser:
    if auth.token.kind not in FB_USER_KINDS:
        raise GraphError(10, "(#10) Hashtag endpoints need a User access token, not a Page token.")
    raw = req.param("user_id")
    if not raw:
        raise missing_param("user_id")
    if str(raw) != auth.user.user_id:
        raise unsupported(req.method, str(raw))
    return auth.user


def _count_hashtag(app: FakeState, user: IGUser, name: str) -> None:
    cfg = app.config
    now = app.now()
    queries = app.store.hashtag_queries.setdefault(user.user_id, {})
    for tag, first in list(queries.items()):
        if first <= now - cfg.hashtag_window_seconds:
            del queries[tag]
    if name in queries:
        return
    if len(queries) >= cfg.hashtag_budget:
        raise GraphError.from_spec(cfg.hashtag_limit_error)
    queries[name] = now


def hashtag_search(app: FakeState, req: Request, auth: Auth) -> Response:
    user = _hashtag_user(app, req, auth)
    q = req.param("q")
    if not q:
        raise missing_param("q")
    name = str(q).strip().lstrip("#").lower()
    if not re.fullmatch(r"\w{1,100}", name):
        raise invalid_param("The hashtag is not supported.", title="Invalid hashtag")
    _count_hashtag(app, user, name)
    hid = hashtag_id(name)
    app.store.hashtag_names[hid] = name
    return Response.json({"data": [{"id": hid}]})


def recently_searched(app: FakeState, req: Request, user: IGUser) -> Response:
    now = app.now()
    queries = app.store.hashtag_queries.get(user.user_id, {})
    live = [
        (first, tag) for tag, first in queries.items() if first > now - app.config.hashtag_window_seconds
    ]
    live.sort(reverse=True)
    limit = page_limit(req, 25, 30)
    return Response.json({"data": [{"id": hashtag_id(tag)} for _, tag in live[:limit]]})


def _hashtag_media(app: FakeState, hid: str, name: str, edge: str) -> list[dict[str, Any]]:
    rng = random.Random(f"{hid}:{edge}")
    now = app.now()
    count = app.config.hashtag_recent_count if edge == "recent_media" else app.config.hashtag_top_count
    items: list[dict[str, Any]] = []
    ages = sorted(rng.uniform(60, 86_000) for _ in range(count))
    for i in range(count):
        mid = "179" + digits_from(f"{hid}:{edge}:{i}", 14)
        media_type = rng.choice(["IMAGE", "IMAGE", "VIDEO", "CAROUSEL_ALBUM"])
        age = ages[i] if edge == "recent_media" else rng.uniform(86_400, 30 * 86_400)
        item: dict[str, Any] = {
            "id": mid,
            "media_type": media_type,
            "caption": f"Fake post {i} about #{name}",
            "like_count": rng.randint(0, 50_000) if edge == "top_media" else rng.randint(0, 500),
            "comments_count": rng.randint(0, 800),
            "permalink": f"https://www.instagram.com/p/{shortcode_for(mid)}/",
            "timestamp": iso(now - age),
            "media_url": None if media_type == "CAROUSEL_ALBUM" else f"https://scontent.cdninstagram.com/fake/{mid}.jpg",
            "children": (
                {"data": [{"id": "179" + digits_from(f"{mid}:c{j}", 14)} for j in range(2)]}
                if media_type == "CAROUSEL_ALBUM" else None
            ),
        }
        items.append(item)
    if edge == "top_media":
        items.sort(key=lambda it: it["like_count"], reverse=True)
    return items


def hashtag_route(app: FakeState, req: Request, auth: Auth, hid: str, edge: str | None) -> Response:
    require(req.method, "GET", hid)
    name = app.store.hashtag_names[hid]
    if edge is None:
        return Response.json(pick({"id": hid, "name": name}, req.param("fields"), "id", "IGHashtag"))
    if edge not in HASHTAG_EDGES:
        raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (IGHashtag)")
    user = _hashtag_user(app, req, auth)
    wanted = req.param("fields") or "id"
    for field_name in parse_fields(wanted):
        if field_name not in (
            "id", "media_type", "caption", "like_count", "comments_count", "permalink", "timestamp",
            "media_url", "children",
        ):
            raise GraphError(
                100, f"(#100) Tried accessing nonexisting field ({field_name}) on node type (IGMedia)"
            )
    _count_hashtag(app, user, name)
    items = [pick(it, wanted, "id", "IGMedia") for it in _hashtag_media(app, hid, name, edge)]
    return Response.json(paged(req, items, 25, 50, before=False))
