"""graph.instagram.com and graph.facebook.com: nodes, edges, publishing, hashtags, usage headers."""

from __future__ import annotations

import base64
import json
import random
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fakeig import media_checks, oauth
from fakeig.http import (
    GraphError,
    Request,
    Response,
    invalid_param,
    missing_param,
    parse_fields,
    unsupported,
    version_number,
)
from fakeig.media_checks import Fetched, Problem
from fakeig.state import Container, IGUser, Media, Token, digits_from, hashtag_id, iso, next_id, shortcode_for

if TYPE_CHECKING:
    from fakeig.app import FakeApp

IG_KINDS = ("ig_short", "ig_long")
FB_KINDS = ("fb_short", "fb_long", "fb_page")
FB_USER_KINDS = ("fb_short", "fb_long")
MEDIA_TYPES = ("IMAGE", "VIDEO", "REELS", "STORIES", "CAROUSEL")
HASHTAG_EDGES = ("top_media", "recent_media")
STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "PUBLISHED": "Published: Media has been published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. "
    "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


def throttle_error(code: int, message: str | None = None, http_status: int = 400) -> GraphError:
    return GraphError(
        code,
        message or THROTTLE_MESSAGES.get(code, f"(#{code}) Rate limit reached"),
        is_transient=code == 4,
        http_status=http_status,
    )


@dataclass
class Auth:
    token: Token
    user: IGUser


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


# ----------------------------------------------------------------------------------------------
# Entry point


def handle(app: FakeApp, req: Request) -> Response:
    is_fb = req.host == "graph.facebook.com"
    if req.version and version_number(req.version) < 21:
        raise GraphError(
            2635,
            f"(#2635) You are calling a deprecated version of the Graph API ({req.version}). "
            "Please update to the latest version: v25.0.",
        )
    if req.body_error:
        raise GraphError(100, f"Could not parse the request body: {req.body_error}")
    segs = [s for s in req.route.split("/") if s]
    with app.store.lock:
        if not is_fb and segs == ["access_token"]:
            return oauth.ig_long_lived(app, req)
        if not is_fb and segs == ["refresh_access_token"]:
            return oauth.ig_refresh(app, req)
        if is_fb and segs == ["oauth", "access_token"]:
            return oauth.fb_access_token(app, req)
        if is_fb and segs == ["debug_token"]:
            return oauth.fb_debug_token(app, req)

        tok = oauth.validate_token(app, oauth._token_param(req), FB_KINDS if is_fb else IG_KINDS)
        auth = Auth(tok, app.store.users[tok.user_id])
        account = auth.user.user_id
        try:
            _count_call(app, account)
            resp = _dispatch(app, req, auth, segs, is_fb)
        except GraphError as exc:
            if exc.code != 4:
                exc.headers.update(usage_headers(app, account))
            raise
        resp.headers.update(usage_headers(app, account))
        return resp


def _dispatch(app: FakeApp, req: Request, auth: Auth, segs: list[str], is_fb: bool) -> Response:
    method = req.method
    if not segs:
        raise unsupported(method, "")
    hashtag_call = segs[0] == "ig_hashtag_search" or (
        len(segs) > 1 and segs[1] in (*HASHTAG_EDGES, "recently_searched_hashtags")
    ) or segs[0] in app.store.hashtag_names
    if hashtag_call and not is_fb:
        raise GraphError.from_spec(app.config.hashtag_ig_host_error)
    if segs[0] == "ig_hashtag_search":
        _require(method, "GET", segs[0])
        return hashtag_search(app, req, auth)
    node = segs[0]
    if node == "me":
        if len(segs) == 1:
            _require(method, "GET", node)
            return read_me(app, req, auth, is_fb)
        if is_fb and segs[1] == "accounts":
            _require(method, "GET", node)
            return me_accounts(app, req, auth)
        node = auth.user.user_id
    edge = segs[1] if len(segs) > 1 else None
    if len(segs) > 2:
        raise unsupported(method, "/".join(segs))
    store = app.store

    if node in store.users or node == auth.user.id:
        user = store.users.get(node) or auth.user
        if user.user_id != auth.user.user_id:
            raise unsupported(method, node)
        return user_route(app, req, auth, edge, is_fb)
    if node in store.containers:
        c = store.containers[node]
        if c.user_id != auth.user.user_id or edge is not None:
            raise unsupported(method, node)
        _require(method, "GET", node)
        return Response.json(read_container(app, c, req.param("fields")))
    if node in store.media and not store.media[node].deleted:
        m = store.media[node]
        if m.user_id != auth.user.user_id:
            raise unsupported(method, node)
        return media_route(app, req, m, edge, is_fb)
    if is_fb and node in store.hashtag_names:
        return hashtag_route(app, req, auth, node, edge)
    if is_fb and node == auth.user.page_id and edge is None:
        _require(method, "GET", node)
        return Response.json(read_page(app, auth, req.param("fields")))
    if is_fb and node == auth.user.fb_user_id and edge is None:
        _require(method, "GET", node)
        return Response.json(_pick({"id": auth.user.fb_user_id, "name": auth.user.fb_user_name},
                                   req.param("fields"), "id,name", "User"))
    raise unsupported(method, node)


def _require(method: str, expected: str, object_id: str) -> None:
    if method != expected:
        raise unsupported(method, object_id)


def _pick(values: dict[str, Any], fields: str | None, default: str, node_type: str) -> dict[str, Any]:
    wanted = parse_fields(fields or default)
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in values:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})")
        if values[name] is not None:
            out[name] = values[name]
    if "id" in values and "id" not in out:
        out["id"] = values["id"]
    return out


# ----------------------------------------------------------------------------------------------
# Usage headers and throttling (§6)


def _window(app: FakeApp, account: str) -> deque[float]:
    calls = app.store.usage.setdefault(account, deque())
    cutoff = app.now() - 3600
    while calls and calls[0] <= cutoff:
        calls.popleft()
    return calls


def _count_call(app: FakeApp, account: str) -> None:
    cfg = app.config
    calls = _window(app, account)
    if len(calls) >= cfg.hourly_call_budget:
        raise throttle_error(cfg.throttle_code, http_status=cfg.throttle_http_status)
    calls.append(app.now())


def usage_headers(app: FakeApp, account: str) -> dict[str, str]:
    cfg = app.config
    if not cfg.usage_headers:
        return {}
    budget = max(1, cfg.hourly_call_budget)
    calls = _window(app, account)
    pct = min(100, len(calls) * 100 // budget)
    regain = 0
    if len(calls) >= budget:
        regain = max(1, int((calls[0] + 3600 - app.now()) // 60) + 1)
    active = [a for a in app.store.usage if _window(app, a)]
    app_calls = sum(len(app.store.usage[a]) for a in active)
    app_pct = min(100, app_calls * 100 // (budget * max(1, len(active))))
    buc = {
        account: [
            {
                "type": "instagram",
                "call_count": pct,
                "total_cputime": pct // 2,
                "total_time": pct // 2,
                "estimated_time_to_regain_access": regain,
            }
        ]
    }
    return {
        "X-App-Usage": json.dumps({"call_count": app_pct, "total_time": app_pct // 2, "total_cputime": app_pct // 2}),
        "X-Business-Use-Case-Usage": json.dumps(buc),
    }


# ----------------------------------------------------------------------------------------------
# Users, pages


def user_values(app: FakeApp, user: IGUser, id_value: str) -> dict[str, Any]:
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


def read_me(app: FakeApp, req: Request, auth: Auth, is_fb: bool) -> Response:
    if is_fb:
        if auth.token.kind == "fb_page":
            return Response.json(read_page(app, auth, req.param("fields")))
        values = {"id": auth.user.fb_user_id, "name": auth.user.fb_user_name}
        return Response.json(_pick(values, req.param("fields"), "id,name", "User"))
    data = _pick(user_values(app, auth.user, auth.user.id), req.param("fields"), "id", "User")
    if app.config.me_shape == "data":
        return Response.json({"data": [data]})
    return Response.json(data)


def read_page(app: FakeApp, auth: Auth, fields: str | None) -> dict[str, Any]:
    user = auth.user
    values = {
        "id": user.page_id,
        "name": user.page_name,
        "instagram_business_account": {"id": user.user_id},
        "category": "Brand",
    }
    return _pick(values, fields, "id,name", "Page")


def _page_token(app: FakeApp, auth: Auth) -> Token:
    for tok in app.store.tokens.values():
        if tok.kind == "fb_page" and tok.refreshed_from == auth.token.token:
            return tok
    lifetime = None if auth.token.kind == "fb_long" else (
        (auth.token.expires_at or app.now()) - app.now()
    )
    tok = oauth.issue_token(app, "fb_page", auth.user, lifetime, auth.token.scopes, auth.token.app_id)
    tok.refreshed_from = auth.token.token
    return tok


def me_accounts(app: FakeApp, req: Request, auth: Auth) -> Response:
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
    item = _pick(values, req.param("fields"), "id,name,access_token,category,tasks", "Page")
    cursor = base64.b64encode(user.page_id.encode()).decode()
    return Response.json({"data": [item], "paging": {"cursors": {"before": cursor, "after": cursor}}})


def user_route(app: FakeApp, req: Request, auth: Auth, edge: str | None, is_fb: bool) -> Response:
    method = req.method
    user = auth.user
    if edge is None:
        _require(method, "GET", user.user_id)
        return Response.json(_pick(user_values(app, user, user.user_id), req.param("fields"), "id", "User"))
    if edge == "media":
        if method == "POST":
            return create_container(app, req, auth, is_fb)
        _require(method, "GET", user.user_id)
        return list_media(app, req, user, stories=False)
    if edge == "stories":
        _require(method, "GET", user.user_id)
        return list_media(app, req, user, stories=True)
    if edge == "media_publish":
        _require(method, "POST", user.user_id)
        return publish(app, req, auth)
    if edge == "content_publishing_limit":
        _require(method, "GET", user.user_id)
        return publishing_limit(app, req, user)
    if edge == "subscribed_apps":
        if method == "POST":
            fields = str(req.param("subscribed_fields") or "")
            user.subscribed_fields = [f for f in fields.split(",") if f]
            return Response.json({"success": True})
        if method == "DELETE":
            user.subscribed_fields = []
            return Response.json({"success": True})
        data = [{"subscribed_fields": user.subscribed_fields}] if user.subscribed_fields else []
        return Response.json({"data": data})
    if edge == "recently_searched_hashtags":
        _require(method, "GET", user.user_id)
        return recently_searched(app, req, user)
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (User)")


# ----------------------------------------------------------------------------------------------
# Containers (§3)


def container_status(app: FakeApp, c: Container) -> tuple[str, str]:
    if c.media_ids:
        return "PUBLISHED", STATUS_TEXT["PUBLISHED"]
    if c.error is not None:
        return "ERROR", str(c.error["status"])
    now = app.now()
    if now >= c.created_at + app.config.container_ttl_seconds:
        return "EXPIRED", STATUS_TEXT["EXPIRED"]
    if c.awaiting_upload or now < c.ready_at:
        return "IN_PROGRESS", STATUS_TEXT["IN_PROGRESS"]
    if c.media_type == "CAROUSEL":
        codes = [container_status(app, app.store.containers[cid])[0] for cid in c.children]
        if any(code in ("ERROR", "EXPIRED") for code in codes):
            return "ERROR", "Error: A carousel item failed to process. (2207001)"
        if any(code == "IN_PROGRESS" for code in codes):
            return "IN_PROGRESS", STATUS_TEXT["IN_PROGRESS"]
    return "FINISHED", STATUS_TEXT["FINISHED"]


def read_container(app: FakeApp, c: Container, fields: str | None) -> dict[str, Any]:
    code, text = container_status(app, c)
    values = {
        "id": c.id,
        "status_code": code,
        "status": text,
        "copyright_check_status": {"matches_found": False, "status": "completed" if c.is_video else "not_started"},
    }
    return _pick(values, fields, "id", "ShadowIGMediaBuilder")


def container_public(app: FakeApp, c: Container) -> dict[str, Any]:
    code, text = container_status(app, c)
    return {
        "id": c.id,
        "user_id": c.user_id,
        "media_type": c.media_type,
        "is_carousel_item": c.is_carousel_item,
        "status_code": code,
        "status": text,
        "created_at": c.created_at,
        "ready_at": c.ready_at,
        "children": c.children,
        "parent_id": c.parent_id,
        "media_ids": c.media_ids,
        "media_id": c.media_ids[0] if c.media_ids else None,
        "published_at": c.published_at,
        "error": c.error,
        "params": {k: v for k, v in c.params.items() if k != "access_token"},
    }


def _parse_list(value: Any, name: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise invalid_param(f"The parameter {name} is not a valid JSON array.") from None
        if not isinstance(parsed, list):
            raise invalid_param(f"The parameter {name} must be an array.")
        return parsed
    return [s.strip() for s in text.split(",") if s.strip()]


def _check_caption(caption: str) -> None:
    too_long = GraphError(
        36004,
        "The caption was too long.",
        2207010,
        user_title="Caption too long",
        user_msg="The caption is too long. Please shorten it to 2200 characters, 30 hashtags and 20 @ tags.",
    )
    if len(caption) > 2200:
        raise too_long
    if len(re.findall(r"(?<!\w)#\w+", caption)) > 30:
        raise too_long
    if len(re.findall(r"(?<![\w@])@[\w.]+", caption)) > 20:
        raise GraphError(
            100,
            "Invalid parameter",
            2207040,
            user_title="Too many tags",
            user_msg="Cannot use more than 20 tags per created media.",
        )


def _check_user_tags(raw: Any, required_xy: bool) -> None:
    tags = _parse_list(raw, "user_tags") if not isinstance(raw, str) or raw.strip().startswith("[") else None
    if tags is None:
        raise invalid_param("The parameter user_tags must be a JSON array of {username, x, y}.")
    for tag in tags:
        if not isinstance(tag, dict) or not tag.get("username"):
            raise invalid_param("Each user tag needs a username.")
        has_xy = "x" in tag or "y" in tag
        if required_xy and not ("x" in tag and "y" in tag):
            raise invalid_param("User tags on images need x and y coordinates.")
        if has_xy:
            try:
                x, y = float(tag.get("x", 0)), float(tag.get("y", 0))
            except (TypeError, ValueError):
                raise invalid_param("User tag coordinates must be numbers.") from None
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise invalid_param(
                    "User tag coordinates x and y must be between 0.0 and 1.0.", title="Invalid user tag"
                )


def create_container(app: FakeApp, req: Request, auth: Auth, is_fb: bool) -> Response:
    cfg = app.config
    p = req.params
    raw_type = p.get("media_type")
    media_type = str(raw_type).upper() if raw_type else "IMAGE"
    is_item = _truthy(p.get("is_carousel_item"))
    upload_type = p.get("upload_type")
    image_url = p.get("image_url") or None
    video_url = p.get("video_url") or None
    caption = p.get("caption")

    if media_type not in MEDIA_TYPES:
        raise invalid_param(f"The media type {raw_type} is unknown.", 2207023, "Unknown media type")
    if media_type == "VIDEO" and not is_item:
        raise invalid_param(
            "The VIDEO media type is only supported for carousel items; use REELS for a video post.",
            2207023,
            "Unsupported media type",
        )
    if is_item and media_type not in ("IMAGE", "VIDEO"):
        raise invalid_param(f"A {media_type} container cannot be a carousel item.")
    resumable = False
    if upload_type is not None:
        if upload_type != "resumable":
            raise invalid_param("upload_type must be 'resumable'.")
        if media_type not in ("VIDEO", "REELS", "STORIES"):
            raise invalid_param("Resumable upload is only for videos (reels, stories, carousel video items).")
        if not is_fb and not cfg.resumable_on_ig_login:
            raise invalid_param("Resumable upload is only available with Facebook Login for Business.")
        resumable = True

    # Which media does it carry?
    if media_type == "IMAGE":
        if not image_url:
            raise missing_param("image_url")
        video = False
    elif media_type in ("VIDEO", "REELS"):
        if not video_url and not resumable:
            raise missing_param("video_url")
        video = True
    elif media_type == "STORIES":
        if image_url and video_url:
            raise invalid_param("A story takes image_url or video_url, not both.")
        if not image_url and not video_url and not resumable:
            raise invalid_param("A story needs image_url or video_url.")
        video = not image_url
    else:  # CAROUSEL
        video = False

    # Parameter rules.
    if caption is not None and caption != "":
        if is_item:
            raise invalid_param("Captions are not supported on carousel items.", title="Invalid caption")
        _check_caption(str(caption))
    if p.get("alt_text") not in (None, ""):
        if video or media_type in ("STORIES", "CAROUSEL"):
            raise invalid_param("alt_text is only supported on images (single or carousel image items).")
        if len(str(p["alt_text"])) > 1000:
            raise invalid_param("alt_text can be at most 1000 characters.")
    if p.get("collaborators") not in (None, ""):
        collaborators = _parse_list(p["collaborators"], "collaborators")
        if media_type == "STORIES" or is_item:
            raise invalid_param("Collaborators are not supported on stories or carousel items.")
        if len(collaborators) > 3:
            raise invalid_param("You can add at most 3 collaborators.", title="Too many collaborators")
    if p.get("user_tags") not in (None, ""):
        if media_type == "CAROUSEL" or (is_item and video):
            raise invalid_param("User tags are not supported on carousel containers or carousel videos.")
        _check_user_tags(p["user_tags"], required_xy=media_type == "IMAGE")
    if p.get("location_id") not in (None, ""):
        if is_item or media_type == "STORIES":
            raise invalid_param("location_id is not supported on carousel items or stories.")
        if not str(p["location_id"]).isdigit():
            raise GraphError(100, "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID", user_title="Invalid location",
                             user_msg="The location_id is not a Page with location data.")
    if p.get("is_ai_generated") not in (None, "") and is_item:
        raise invalid_param("is_ai_generated is not supported on carousel items.")
    thumb_offset: int | None = None
    if p.get("thumb_offset") not in (None, ""):
        try:
            thumb_offset = int(p["thumb_offset"])
        except (TypeError, ValueError):
            raise invalid_param("thumb_offset must be an integer number of milliseconds.") from None
        if thumb_offset < 0:
            raise _thumb_error()
    children: list[str] = []
    if media_type == "CAROUSEL":
        children = [str(c) for c in _parse_list(p.get("children"), "children")]
        if not 2 <= len(children) <= 10:
            raise invalid_param(
                "Carousels need at least 2 photos/videos and no more than 10 photos/videos.",
                2207028,
                "Carousel validation failed",
            )
        for cid in children:
            child = app.store.containers.get(cid)
            if child is None or child.user_id != auth.user.user_id:
                raise GraphError(24, f"The media with id {cid} cannot be found.", 2207006,
                                 user_title="Media not found",
                                 user_msg=f"The media with id {cid} cannot be found.")
            if not child.is_carousel_item:
                raise invalid_param(f"The container {cid} is not a carousel item (is_carousel_item=true).")

    # 400 containers per rolling 24 h.
    now = app.now()
    window_start = now - cfg.container_limit_window_seconds
    recent = sum(
        1 for c in app.store.containers.values() if c.user_id == auth.user.user_id and c.created_at > window_start
    )
    if recent >= cfg.container_limit:
        raise GraphError.from_spec(cfg.container_limit_error)

    # Download and inspect the media like Instagram does (outside the lock).
    problem: Problem | None = None
    fetched: Fetched | None = None
    url = video_url if video else image_url
    if url and not resumable:
        if video:
            limit = _video_limit(app, media_type)
            with app.unlocked():
                got = media_checks.fetch(str(url), limit, cfg.fetch_timeout_seconds, keep=media_checks.KEEP_VIDEO_BYTES)
            if isinstance(got, Problem):
                problem = got
            else:
                fetched = got
                problem = media_checks.check_video(got, limit, cfg.video_seconds.get(media_type))
        else:
            with app.unlocked():
                got = media_checks.fetch(str(url), cfg.image_max_bytes, cfg.fetch_timeout_seconds)
            if isinstance(got, Problem):
                problem = got
            else:
                problem = media_checks.check_image(
                    got, cfg.image_max_bytes, cfg.min_aspect_ratio, cfg.max_aspect_ratio,
                    check_ratio=media_type == "IMAGE",
                )
        if problem is not None and not video and cfg.image_checks == "sync":
            raise problem.error()
    if thumb_offset is not None and video and fetched is not None and problem is None:
        duration_ms = media_checks.video_duration(fetched, cfg.default_video_seconds) * 1000
        if thumb_offset >= duration_ms:
            raise _thumb_error()

    now = app.now()
    key = media_type
    if media_type == "STORIES":
        key = "STORIES_VIDEO" if video else "STORIES_IMAGE"
    delay = float(cfg.processing_seconds.get(key, 0))
    c = Container(
        id=next_id("17889"),
        user_id=auth.user.user_id,
        media_type=media_type,
        is_carousel_item=is_item,
        created_at=now,
        ready_at=now + delay,
        params={k: v for k, v in p.items() if k != "access_token" and not isinstance(v, bytes)},
        is_video=video,
        children=children,
        awaiting_upload=resumable,
    )
    if problem is not None:
        c.error = {"status": problem.status_text, "code": problem.code, "subcode": problem.subcode}
    app.store.containers[c.id] = c
    for cid in children:
        app.store.containers[cid].parent_id = c.id
    body: dict[str, Any] = {"id": c.id}
    if resumable:
        base = f"http://{req.header('host') or '127.0.0.1'}"
        body["uri"] = f"{base}/rupload.facebook.com/ig-api-upload/{req.version or 'v25.0'}/{c.id}"
    return Response.json(body)


def _thumb_error() -> GraphError:
    return GraphError(
        1,
        "Invalid parameter",
        2207057,
        user_title="Invalid thumbnail offset",
        user_msg="The thumbnail offset must be greater than or equal to 0 and less than the video duration.",
    )


def _video_limit(app: FakeApp, media_type: str) -> int:
    cfg = app.config
    if media_type == "STORIES":
        return cfg.story_video_max_bytes
    if media_type == "VIDEO":
        return cfg.carousel_video_max_bytes
    return cfg.reels_max_bytes


def rupload(app: FakeApp, req: Request) -> Response:
    """POST rupload.facebook.com/ig-api-upload/{v}/{container_id} with a body or a file_url header."""
    segs = [s for s in req.route.split("/") if s and not re.fullmatch(r"v\d+\.\d+", s)]

    def failure(message: str, status: int = 400) -> Response:
        inner = json.dumps({"success": False, "error": {"message": message}})
        return Response.json(
            {"debug_info": {"retriable": False, "type": "ProcessingFailedError", "message": inner}}, status=status
        )

    if req.method != "POST" or len(segs) != 2 or segs[0] != "ig-api-upload":
        return failure("unsupported request", 404)
    auth_header = req.header("authorization") or ""
    scheme, _, raw = auth_header.partition(" ")
    with app.store.lock:
        tok = app.store.tokens.get(raw.strip()) if scheme.lower() == "oauth" else None
        if tok is None or tok.revoked_subcode is not None or (
            tok.expires_at is not None and app.now() >= tok.expires_at
        ):
            return failure("unauthorized user request", 401)
        c = app.store.containers.get(segs[1])
        if c is None or c.user_id != tok.user_id or not c.awaiting_upload:
            return failure("unauthorized user request", 401)
        limit = _video_limit(app, c.media_type)
        file_url = req.header("file_url")
        if file_url:
            with app.unlocked():
                got = media_checks.fetch(file_url, limit, app.config.fetch_timeout_seconds,
                                         keep=media_checks.KEEP_VIDEO_BYTES)
        else:
            got = Fetched(req.body[: media_checks.KEEP_VIDEO_BYTES], len(req.body))
        problem = got if isinstance(got, Problem) else media_checks.check_video(
            got, limit, app.config.video_seconds.get(c.media_type)
        )
        now = app.now()
        c.awaiting_upload = False
        key = "STORIES_VIDEO" if c.media_type == "STORIES" else c.media_type
        c.ready_at = now + float(app.config.processing_seconds.get(key, 0))
        if problem is not None:
            c.error = {"status": problem.status_text, "code": problem.code, "subcode": problem.subcode}
        return Response.json({"success": True, "message": "Upload successful."})


# ----------------------------------------------------------------------------------------------
# Publishing (§3.4, §3.5)


def _publishes_in_window(app: FakeApp, user_id: str, since: float | None = None) -> int:
    start = app.now() - app.config.quota_duration
    if since is not None:
        start = max(start, since - 1e-9)
    return sum(
        1 for m in app.store.media.values()
        if m.user_id == user_id and not m.is_carousel_child and m.timestamp > start
    )


def publish(app: FakeApp, req: Request, auth: Auth) -> Response:
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


def _make_media(app: FakeApp, c: Container, now: float, child: bool) -> Media:
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
        share_to_feed=(_truthy(share) if share is not None else True) if product == "REELS" else None,
    )
    app.store.media[mid] = m
    c.media_ids.append(mid)
    c.published_at = now
    return m


def publishing_limit(app: FakeApp, req: Request, user: IGUser) -> Response:
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


# ----------------------------------------------------------------------------------------------
# Media reads (§3.6)


def media_values(app: FakeApp, m: Media, fields: str | None) -> dict[str, Any]:
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
        "comments_count": 0,
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
    return _pick(values, fields, "id", "IGMedia")


def media_route(app: FakeApp, req: Request, m: Media, edge: str | None, is_fb: bool) -> Response:
    method = req.method
    if edge is None:
        if method == "GET":
            return Response.json(media_values(app, m, req.param("fields")))
        if method == "POST":
            if req.param("comment_enabled") is None:
                raise missing_param("comment_enabled")
            m.comment_enabled = _truthy(req.param("comment_enabled"))
            return Response.json({"success": True})
        if method == "DELETE" and is_fb:
            m.deleted = True
            return Response.json({"success": True, "deleted_id": m.id})
        raise unsupported(method, m.id)
    if edge == "children":
        _require(method, "GET", m.id)
        data = [media_values(app, app.store.media[cid], req.param("fields")) for cid in m.children]
        return Response.json({"data": data})
    if edge == "comments":
        _require(method, "GET", m.id)
        return Response.json({"data": []})
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (IGMedia)")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError):
        raise invalid_param("Invalid cursor.") from None


def _limit(req: Request, default: int, maximum: int) -> int:
    try:
        value = int(req.param("limit") or default)
    except (TypeError, ValueError):
        raise invalid_param("limit must be an integer.") from None
    return max(1, min(value, maximum))


def _page(req: Request, items: list[dict[str, Any]], default: int, maximum: int,
          before: bool = True) -> dict[str, Any]:
    offset = _decode_cursor(req.param("after"))
    limit = _limit(req, default, maximum)
    page = items[offset : offset + limit]
    out: dict[str, Any] = {"data": page}
    cursors: dict[str, str] = {}
    if before:
        cursors["before"] = _encode_cursor(offset)
    has_more = offset + limit < len(items)
    if page:
        cursors["after"] = _encode_cursor(offset + limit)
    if page or before:
        out["paging"] = {"cursors": cursors}
    if has_more:
        params = {k: v for k, v in req.params.items() if isinstance(v, str)}
        params["after"] = cursors["after"]
        params["limit"] = str(limit)
        host = req.header("host") or "127.0.0.1"
        out["paging"]["next"] = f"http://{host}/{req.host}{req.path}?{urlencode(params)}"
    return out


def list_media(app: FakeApp, req: Request, user: IGUser, stories: bool) -> Response:
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
    return Response.json(_page(req, rendered, 25, 100))


# ----------------------------------------------------------------------------------------------
# Hashtags (§5, §11.7)


def _hashtag_user(app: FakeApp, req: Request, auth: Auth) -> IGUser:
    if auth.token.kind not in FB_USER_KINDS:
        raise GraphError(10, "(#10) Hashtag endpoints need a User access token, not a Page token.")
    raw = req.param("user_id")
    if not raw:
        raise missing_param("user_id")
    if str(raw) != auth.user.user_id:
        raise unsupported(req.method, str(raw))
    return auth.user


def _count_hashtag(app: FakeApp, user: IGUser, name: str) -> None:
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


def hashtag_search(app: FakeApp, req: Request, auth: Auth) -> Response:
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


def recently_searched(app: FakeApp, req: Request, user: IGUser) -> Response:
    now = app.now()
    queries = app.store.hashtag_queries.get(user.user_id, {})
    live = [
        (first, tag) for tag, first in queries.items() if first > now - app.config.hashtag_window_seconds
    ]
    live.sort(reverse=True)
    limit = _limit(req, 25, 30)
    return Response.json({"data": [{"id": hashtag_id(tag)} for _, tag in live[:limit]]})


def _hashtag_media(app: FakeApp, hid: str, name: str, edge: str) -> list[dict[str, Any]]:
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


def hashtag_route(app: FakeApp, req: Request, auth: Auth, hid: str, edge: str | None) -> Response:
    _require(req.method, "GET", hid)
    name = app.store.hashtag_names[hid]
    if edge is None:
        return Response.json(_pick({"id": hid, "name": name}, req.param("fields"), "id", "IGHashtag"))
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
    items = [_pick(it, wanted, "id", "IGMedia") for it in _hashtag_media(app, hid, name, edge)]
    return Response.json(_page(req, items, 25, 50, before=False))
