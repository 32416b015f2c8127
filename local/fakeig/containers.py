"""Media containers: creation with Instagram's parameter rules, status, resumable upload.

https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/content-publishing"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakeig import media_checks
from fakeig.graph_common import Auth, parse_list, pick, truthy
from fakeig.http import (
    GraphError,
    Request,
    Response,
    invalid_param,
    missing_param,
)
from fakeig.media_checks import Fetched, Problem
from fakeig.state import Container, next_id

if TYPE_CHECKING:
    from fakeig.context import FakeState


MEDIA_TYPES = ("IMAGE", "VIDEO", "REELS", "STORIES", "CAROUSEL")


STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "PUBLISHED": "Published: Media has been published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}


def container_status(app: FakeState, c: Container) -> tuple[str, str]:
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


def read_container(app: FakeState, c: Container, fields: str | None) -> dict[str, Any]:
    code, text = container_status(app, c)
    values = {
        "id": c.id,
        "status_code": code,
        "status": text,
        "copyright_check_status": {"matches_found": False, "status": "completed" if c.is_video else "not_started"},
    }
    return pick(values, fields, "id", "ShadowIGMediaBuilder")


def container_public(app: FakeState, c: Container) -> dict[str, Any]:
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


def check_caption(caption: str) -> None:
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
    tags = parse_list(raw, "user_tags") if not isinstance(raw, str) or raw.strip().startswith("[") else None
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


@dataclass
class _Kind:
    """What a create request asks for, after the media-type rules."""

    media_type: str
    is_item: bool
    video: bool
    resumable: bool
    image_url: Any
    video_url: Any


def create_container(app: FakeState, req: Request, auth: Auth, is_fb: bool) -> Response:
    cfg = app.config
    p = req.params
    kind = _media_kind(app, p, is_fb)
    _check_params(p, kind)
    thumb_offset = _thumb_offset(p)
    children = _carousel_children(app, p, auth) if kind.media_type == "CAROUSEL" else []
    _check_container_limit(app, auth)
    problem, fetched = _inspect_media(app, kind)
    if thumb_offset is not None and kind.video and fetched is not None and problem is None:
        duration_ms = media_checks.video_duration(fetched, cfg.default_video_seconds) * 1000
        if thumb_offset >= duration_ms:
            raise _thumb_error()
    c = _store_container(app, p, auth, kind, children, problem)
    body: dict[str, Any] = {"id": c.id}
    if kind.resumable:
        base = f"http://{req.header('host') or '127.0.0.1'}"
        body["uri"] = f"{base}/rupload.facebook.com/ig-api-upload/{req.version or 'v25.0'}/{c.id}"
    return Response.json(body)


def _media_kind(app: FakeState, p: dict[str, Any], is_fb: bool) -> _Kind:
    """media_type, carousel item flag, upload type: which media the container carries."""
    raw_type = p.get("media_type")
    media_type = str(raw_type).upper() if raw_type else "IMAGE"
    is_item = truthy(p.get("is_carousel_item"))
    upload_type = p.get("upload_type")
    image_url = p.get("image_url") or None
    video_url = p.get("video_url") or None
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
        if not is_fb and not app.config.resumable_on_ig_login:
            raise invalid_param("Resumable upload is only available with Facebook Login for Business.")
        resumable = True

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
    return _Kind(media_type, is_item, video, resumable, image_url, video_url)


def _check_params(p: dict[str, Any], kind: _Kind) -> None:
    """Caption, alt text, collaborators, user tags, location and AI label rules per media type."""
    media_type, is_item, video = kind.media_type, kind.is_item, kind.video
    caption = p.get("caption")
    if caption is not None and caption != "":
        if is_item:
            raise invalid_param("Captions are not supported on carousel items.", title="Invalid caption")
        check_caption(str(caption))
    if p.get("alt_text") not in (None, ""):
        if video or media_type in ("STORIES", "CAROUSEL"):
            raise invalid_param("alt_text is only supported on images (single or carousel image items).")
        if len(str(p["alt_text"])) > 1000:
            raise invalid_param("alt_text can be at most 1000 characters.")
    if p.get("collaborators") not in (None, ""):
        collaborators = parse_list(p["collaborators"], "collaborators")
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


def _thumb_offset(p: dict[str, Any]) -> int | None:
    if p.get("thumb_offset") in (None, ""):
        return None
    try:
        thumb_offset = int(p["thumb_offset"])
    except (TypeError, ValueError):
        raise invalid_param("thumb_offset must be an integer number of milliseconds.") from None
    if thumb_offset < 0:
        raise _thumb_error()
    return thumb_offset


def _carousel_children(app: FakeState, p: dict[str, Any], auth: Auth) -> list[str]:
    children = [str(c) for c in parse_list(p.get("children"), "children")]
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
    return children


def _check_container_limit(app: FakeState, auth: Auth) -> None:
    """400 containers per rolling 24 h."""
    cfg = app.config
    window_start = app.now() - cfg.container_limit_window_seconds
    recent = sum(
        1 for c in app.store.containers.values() if c.user_id == auth.user.user_id and c.created_at > window_start
    )
    if recent >= cfg.container_limit:
        raise GraphError.from_spec(cfg.container_limit_error)


def _inspect_media(app: FakeState, kind: _Kind) -> tuple[Problem | None, Fetched | None]:
    """Download and inspect the media like Instagram does (outside the lock)."""
    cfg = app.config
    problem: Problem | None = None
    fetched: Fetched | None = None
    url = kind.video_url if kind.video else kind.image_url
    if not url or kind.resumable:
        return None, None
    if kind.video:
        limit = _video_limit(app, kind.media_type)
        with app.unlocked():
            got = media_checks.fetch(str(url), limit, cfg.fetch_timeout_seconds, keep=media_checks.KEEP_VIDEO_BYTES)
        if isinstance(got, Problem):
            problem = got
        else:
            fetched = got
            problem = media_checks.check_video(
                got, limit, cfg.video_seconds.get(kind.media_type), spec_checks=cfg.video_spec_checks
            )
    else:
        with app.unlocked():
            got = media_checks.fetch(str(url), cfg.image_max_bytes, cfg.fetch_timeout_seconds)
        if isinstance(got, Problem):
            problem = got
        else:
            problem = media_checks.check_image(
                got, cfg.image_max_bytes, cfg.min_aspect_ratio, cfg.max_aspect_ratio,
                check_ratio=kind.media_type == "IMAGE",
            )
    if problem is not None and not kind.video and cfg.image_checks == "sync":
        raise problem.error()
    return problem, fetched


def _store_container(app: FakeState, p: dict[str, Any], auth: Auth, kind: _Kind, children: list[str],
                     problem: Problem | None) -> Container:
    now = app.now()
    key = kind.media_type
    if kind.media_type == "STORIES":
        key = "STORIES_VIDEO" if kind.video else "STORIES_IMAGE"
    delay = float(app.config.processing_seconds.get(key, 0))
    c = Container(
        id=next_id("17889"),
        user_id=auth.user.user_id,
        media_type=kind.media_type,
        is_carousel_item=kind.is_item,
        created_at=now,
        ready_at=now + delay,
        params={k: v for k, v in p.items() if k != "access_token" and not isinstance(v, bytes)},
        is_video=kind.video,
        children=children,
        awaiting_upload=kind.resumable,
    )
    if problem is not None:
        c.error = {"status": problem.status_text, "code": problem.code, "subcode": problem.subcode}
    app.store.containers[c.id] = c
    for cid in children:
        app.store.containers[cid].parent_id = c.id
    return c


def _thumb_error() -> GraphError:
    return GraphError(
        1,
        "Invalid parameter",
        2207057,
        user_title="Invalid thumbnail offset",
        user_msg="The thumbnail offset must be greater than or equal to 0 and less than the video duration.",
    )


def _video_limit(app: FakeState, media_type: str) -> int:
    cfg = app.config
    if media_type == "STORIES":
        return cfg.story_video_max_bytes
    if media_type == "VIDEO":
        return cfg.carousel_video_max_bytes
    return cfg.reels_max_bytes


def rupload(app: FakeState, req: Request) -> Response:
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
            got, limit, app.config.video_seconds.get(c.media_type), spec_checks=app.config.video_spec_checks
        )
        now = app.now()
        c.awaiting_upload = False
        key = "STORIES_VIDEO" if c.media_type == "STORIES" else c.media_type
        c.ready_at = now + float(app.config.processing_seconds.get(key, 0))
        if problem is not None:
            c.error = {"status": problem.status_text, "code": problem.code, "subcode": problem.subcode}
        return Response.json({"success": True, "message": "Upload successful."})
