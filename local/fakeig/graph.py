"""graph.instagram.com and graph.facebook.com: the entry point that authenticates, counts the call and
dispatches to the node modules (users, containers, publishing, media, hashtags)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakeig import comments, oauth
from fakeig.containers import read_container
from fakeig.graph_common import FB_KINDS, IG_KINDS, Auth, pick, require
from fakeig.hashtags import HASHTAG_EDGES, hashtag_route, hashtag_search
from fakeig.http import (
    GraphError,
    Request,
    Response,
    unsupported,
    version_number,
)
from fakeig.media import media_route
from fakeig.usage import count_call, usage_headers
from fakeig.users import me_accounts, read_me, read_page, user_route

if TYPE_CHECKING:
    from fakeig.context import FakeState


def handle(app: FakeState, req: Request) -> Response:
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
            count_call(app, account)
            resp = _dispatch(app, req, auth, segs, is_fb)
        except GraphError as exc:
            if exc.code != 4:
                exc.headers.update(usage_headers(app, account))
            raise
        resp.headers.update(usage_headers(app, account))
        return resp


def _dispatch(app: FakeState, req: Request, auth: Auth, segs: list[str], is_fb: bool) -> Response:
    method = req.method
    if not segs:
        raise unsupported(method, "")
    hashtag_call = segs[0] == "ig_hashtag_search" or (
        len(segs) > 1 and segs[1] in (*HASHTAG_EDGES, "recently_searched_hashtags")
    ) or segs[0] in app.store.hashtag_names
    if hashtag_call and not is_fb:
        raise GraphError.from_spec(app.config.hashtag_ig_host_error)
    if segs[0] == "ig_hashtag_search":
        require(method, "GET", segs[0])
        return hashtag_search(app, req, auth)
    node = segs[0]
    if node == "me":
        if len(segs) == 1:
            require(method, "GET", node)
            return read_me(app, req, auth, is_fb)
        if is_fb and segs[1] == "accounts":
            require(method, "GET", node)
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
        require(method, "GET", node)
        return Response.json(read_container(app, c, req.param("fields")))
    if node in store.media and not store.media[node].deleted:
        m = store.media[node]
        if m.user_id != auth.user.user_id:
            raise unsupported(method, node)
        return media_route(app, req, auth, m, edge, is_fb)
    if node in store.comments and not store.comments[node].deleted:
        cm = store.comments[node]
        if store.media[cm.media_id].user_id != auth.user.user_id or store.media[cm.media_id].deleted:
            raise unsupported(method, node)
        return comments.comment_route(app, req, auth, cm, edge)
    if is_fb and node in store.hashtag_names:
        return hashtag_route(app, req, auth, node, edge)
    if is_fb and node == auth.user.page_id and edge is None:
        require(method, "GET", node)
        return Response.json(read_page(app, auth, req.param("fields")))
    if is_fb and node == auth.user.fb_user_id and edge is None:
        require(method, "GET", node)
        return Response.json(pick({"id": auth.user.fb_user_id, "name": auth.user.fb_user_name},
                                   req.param("fields"), "id,name", "User"))
    raise unsupported(method, node)
