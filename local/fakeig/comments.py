"""Comments on the account's media: list, create, reply, hide/unhide, delete.

https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments
https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
https://developers.facebook.com/documentation/instagram-platform/comment-moderation

Lists are newest first, top-level only, at most 50 per page; replies come only through field
expansion (``replies{...}``) or ``/{comment-id}/replies``. ``user`` is returned only on comments the
account wrote, ``username`` only with the manage-comments scope. What the reference leaves
UNCONFIRMED (text limit, comments-disabled and hidden-reply errors, the hourly write cap, the
"fields on create" quirk) is switchable in :class:`fakeig.config.FakeConfig`.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from fakeig import webhooks
from fakeig.graph_common import Auth, paged, pick, require, truthy
from fakeig.http import GraphError, Request, Response, missing_param, parse_fields, unsupported
from fakeig.state import Comment, IGUser, Media, iso, next_id

if TYPE_CHECKING:
    from fakeig.context import FakeState

COMMENT_SCOPES = ("instagram_business_basic", "instagram_business_manage_comments")
DEFAULT_FIELDS = "timestamp,text,id"


def require_scope(app: FakeState, auth: Auth) -> None:
    if app.config.require_comment_scope and not all(s in auth.token.scopes for s in COMMENT_SCOPES):
        raise GraphError.from_spec(app.config.missing_scope_error)


def comment_values(app: FakeState, c: Comment, fields: str | None, auth: Auth) -> dict[str, Any]:
    media = app.store.media[c.media_id]
    values: dict[str, Any] = {
        "id": c.id,
        "text": c.text,
        "timestamp": iso(c.timestamp),
        "from": {"id": c.author_id, "username": c.username},
        "username": c.username if "instagram_business_manage_comments" in auth.token.scopes else None,
        "user": {"id": c.author_id} if c.by_owner else None,
        "hidden": c.hidden,
        "like_count": c.like_count,
        "media": {"id": media.id, "media_product_type": media.media_product_type},
        "parent_id": c.parent_id,
        "replies": None,
        "legacy_instagram_comment_id": c.id,
    }
    wanted = parse_fields(fields or DEFAULT_FIELDS)
    if "replies" in wanted:
        sub = wanted["replies"] or "id"
        values["replies"] = {"data": [comment_values(app, r, sub, auth) for r in replies_of(app, c)]}
    return pick(values, fields, DEFAULT_FIELDS, "IGComment")


def top_level(app: FakeState, media: Media) -> list[Comment]:
    items = [c for c in app.store.comments.values() if c.media_id == media.id and not c.deleted
             and c.parent_id is None]
    items.sort(key=lambda c: (c.timestamp, c.id), reverse=True)
    return items


def replies_of(app: FakeState, parent: Comment) -> list[Comment]:
    items = [c for c in app.store.comments.values() if c.parent_id == parent.id and not c.deleted]
    items.sort(key=lambda c: (c.timestamp, c.id), reverse=True)
    return items


def _page_size(app: FakeState) -> int:
    return max(1, min(50, app.config.comments_page_size))


# ----------------------------------------------------------------------------------------------
# /{media-id}/comments


def media_comments(app: FakeState, req: Request, auth: Auth, media: Media) -> Response:
    require_scope(app, auth)
    fields = req.param("fields")
    if req.method == "GET":
        rendered = [comment_values(app, c, fields, auth) for c in top_level(app, media)]
        return Response.json(paged(req, rendered, _page_size(app), 50))
    require(req.method, "POST", media.id)
    comment = _write(app, req, auth, media, parent=None)
    return _created(app, req, comment)


def _created(app: FakeState, req: Request, comment: Comment) -> Response:
    if req.param("fields") not in (None, "") and app.config.comment_fields_quirk:
        # Seen in the wild: the comment exists, the answer is an error (a retry would post it again).
        raise GraphError(20, "This API call does not support the requested response format", 1772107)
    return Response.json({"id": comment.id})


def _write(app: FakeState, req: Request, auth: Auth, media: Media, parent: Comment | None) -> Comment:
    cfg = app.config
    message = req.param("message")
    if message in (None, ""):
        raise missing_param("message")
    text = str(message)
    if not media.comment_enabled:
        raise GraphError.from_spec(cfg.comments_disabled_error)
    if cfg.comment_max_length and len(text) > cfg.comment_max_length:
        raise GraphError.from_spec(cfg.comment_too_long_error)
    _count_write(app, auth.user)
    comment = add_comment(app, media, auth.user, text, by_owner=True, parent=parent)
    return comment


def _count_write(app: FakeState, user: IGUser) -> None:
    cap = app.config.comment_hourly_write_cap
    writes = app.store.comment_writes.setdefault(user.user_id, deque())
    cutoff = app.now() - 3600
    while writes and writes[0] <= cutoff:
        writes.popleft()
    if cap and len(writes) >= cap:
        raise GraphError.from_spec(app.config.comment_write_cap_error)
    writes.append(app.now())


def add_comment(app: FakeState, media: Media, owner: IGUser, text: str, by_owner: bool,
                parent: Comment | None = None, username: str | None = None,
                author_id: str | None = None) -> Comment:
    """Store a comment (the owner's or an audience member's) and queue its webhook."""
    comment = Comment(
        id=next_id("178"),
        media_id=media.id,
        author_id=owner.user_id if by_owner else (author_id or "6" + next_id("9")[-15:]),
        username=owner.username if by_owner else (username or "a_follower"),
        text=text,
        timestamp=app.now(),
        by_owner=by_owner,
        parent_id=parent.id if parent else None,
    )
    app.store.comments[comment.id] = comment
    webhooks.enqueue_comment(app, owner, media, comment)
    return comment


# ----------------------------------------------------------------------------------------------
# /{comment-id} and /{comment-id}/replies


def comment_route(app: FakeState, req: Request, auth: Auth, c: Comment, edge: str | None) -> Response:
    require_scope(app, auth)
    media = app.store.media[c.media_id]
    method = req.method
    if edge is None:
        if method == "GET":
            return Response.json(comment_values(app, c, req.param("fields"), auth))
        if method == "POST":
            if req.param("hide") is None:
                raise missing_param("hide")
            # A comment the media owner wrote stays visible even with hide=true.
            if not c.by_owner:
                c.hidden = truthy(req.param("hide"))
            return Response.json({"success": True})
        if method == "DELETE":
            c.deleted = True
            for r in replies_of(app, c):
                r.deleted = True
            return Response.json({"success": True})
        raise unsupported(method, c.id)
    if edge == "replies":
        parent = c if c.parent_id is None else app.store.comments[c.parent_id]
        if method == "GET":
            if c.parent_id is not None:
                rendered: list[dict[str, Any]] = []
            else:
                rendered = [comment_values(app, r, req.param("fields"), auth) for r in replies_of(app, c)]
            return Response.json(paged(req, rendered, _page_size(app), 50))
        require(method, "POST", c.id)
        if parent.hidden:
            raise GraphError.from_spec(app.config.hidden_reply_error)
        reply = _write(app, req, auth, media, parent=parent)
        return _created(app, req, reply)
    raise GraphError(100, f"(#100) Tried accessing nonexisting field ({edge}) on node type (IGComment)")
