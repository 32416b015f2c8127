"""Login dialogs and token endpoints: Business Login for Instagram (§2) and Facebook Login (§11)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from fakeig.http import GraphError, OAuthError, Request, Response, missing_param
from fakeig.state import AuthCode, IGUser, Token, make_user, random_code, random_token

if TYPE_CHECKING:
    from fakeig.context import FakeState

IG_SCOPES = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_messages",
        "instagram_business_manage_insights",
    }
)
FB_DEFAULT_SCOPES = [
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
]
INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"  # noqa: S105
REVOKED_MESSAGES = {
    458: "Error validating access token: The user has not authorized application {app}.",
    459: "Error validating access token: You cannot access the app till you log in to www.facebook.com "
    "and follow the instructions given.",
    460: "Error validating access token: The session has been invalidated because the user changed their "
    "password or Facebook has changed the session for security reasons.",
    464: "Error validating access token: Sessions for the user are not allowed because the user is not "
    "a confirmed user.",
    467: "Error validating access token: The session is invalid because the user logged out.",
    492: "Error validating access token: The session is invalid.",
}


def _fmt_time(ts: float) -> str:
    return time.strftime("%b %d, %Y %I:%M:%S%p UTC", time.gmtime(ts)).replace(" 0", " ")


def auth_error(app: FakeState, message: str, subcode: int | None = None) -> GraphError:
    return GraphError(190, message, subcode, http_status=app.config.auth_error_http_status)


def validate_token(app: FakeState, raw: str | None, kinds: tuple[str, ...]) -> Token:
    """The token if it is known, of an accepted kind, not revoked and not expired; else a 190."""
    if not raw:
        raise GraphError(
            2500, "An active access token must be used to query information about the current user."
        )
    tok = app.store.tokens.get(raw)
    if tok is None or tok.kind not in kinds:
        raise auth_error(app, INVALID_TOKEN)
    if tok.revoked_subcode is not None:
        template = REVOKED_MESSAGES.get(tok.revoked_subcode, "Error validating access token.")
        raise auth_error(app, template.format(app=tok.app_id), tok.revoked_subcode)
    now = app.now()
    if tok.expires_at is not None and now >= tok.expires_at:
        raise auth_error(
            app,
            f"Error validating access token: Session has expired on {_fmt_time(tok.expires_at)}. "
            f"The current time is {_fmt_time(now)}.",
            463,
        )
    return tok


def issue_token(
    app: FakeState, kind: str, user: IGUser, lifetime: float | None, scopes: list[str], app_id: str
) -> Token:
    now = app.now()
    prefix = "IGAA" if kind.startswith("ig") else "EAA"
    tok = Token(
        token=random_token(prefix),
        kind=kind,
        user_id=user.user_id,
        issued_at=now,
        expires_at=None if lifetime is None else now + lifetime,
        scopes=list(scopes),
        app_id=app_id,
    )
    app.store.tokens[tok.token] = tok
    return tok


def _with_query(uri: str, params: dict[str, str], fragment: str) -> str:
    sep = "&" if "?" in uri else "?"
    return uri + sep + urlencode(params) + fragment


def _login_user(app: FakeState, req: Request) -> IGUser:
    name = req.param("login_as") or app.config.default_username
    user = app.store.user_by_name(str(name))
    if user is None:
        user = app.store.add_user(make_user(str(name)))
    return user


def _consent_page(req: Request, user: IGUser, title: str, scopes: list[str]) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in req.params.items()
        if k != "decision" and isinstance(v, str)
    )
    action = html.escape(f"/{req.host}{req.path}")
    body = f"""<!doctype html>
<html><head><title>{html.escape(title)}</title></head>
<body>
<h1>{html.escape(title)}</h1>
<p>Logged in as <b id="username">{html.escape(user.username)}</b>.</p>
<p>The app asks for: <span id="scopes">{html.escape(", ".join(scopes))}</span></p>
<form method="post" action="{action}">
{hidden}
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body></html>"""
    return Response.html(body)


def _decision(app: FakeState, req: Request) -> str | None:
    """'allow', 'deny', or None (show the page)."""
    mode = app.config.consent_mode
    if req.method == "POST":
        return "allow" if req.param("decision") == "allow" else "deny"
    if mode == "auto_approve":
        return "allow"
    if mode == "deny":
        return "deny"
    return None


# ----------------------------------------------------------------------------------------------
# Business Login for Instagram


def _split_scopes(raw: Any) -> list[str]:
    return [s for s in re.split(r"[,\s]+", str(raw or "")) if s]


def ig_authorize(app: FakeState, req: Request) -> Response:
    cfg = app.config
    with app.store.lock:
        if req.param("client_id") != cfg.ig_app_id:
            raise OAuthError("Invalid platform app")
        redirect_uri = req.param("redirect_uri")
        if not redirect_uri:
            raise OAuthError("Missing required parameter: redirect_uri")
        if cfg.allowed_redirect_uris and redirect_uri not in cfg.allowed_redirect_uris:
            raise OAuthError("Invalid redirect_uri")
        if req.param("response_type") != "code":
            raise OAuthError("Invalid response_type: only 'code' is supported")
        scopes = _split_scopes(req.param("scope"))
        bad = [s for s in scopes if s not in IG_SCOPES]
        if bad or (cfg.require_scope and not scopes):
            raise OAuthError(f"Invalid scope field(s): {','.join(bad) or '(empty)'}")
        user = _login_user(app, req)
        state = req.param("state")
        decision = _decision(app, req)
        if decision is None:
            return _consent_page(req, user, "Allow igpub to access your Instagram account?", scopes)
        if decision == "deny":
            params = {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request",
            }
            if state is not None:
                params["state"] = state
            return Response.redirect(_with_query(redirect_uri, params, ""))
        code = AuthCode(
            code=random_code(),
            kind="ig",
            client_id=cfg.ig_app_id,
            redirect_uri=redirect_uri,
            user_id=user.user_id,
            scopes=scopes,
            expires_at=app.now() + cfg.code_ttl_seconds,
        )
        app.store.codes[code.code] = code
        params = {"code": code.code}
        if state is not None:
            params["state"] = state
        return Response.redirect(_with_query(redirect_uri, params, "#_"))


REDIRECT_MISMATCH = (
    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used "
    "in the OAuth dialog request"
)
CodeProblem = Literal["not_found", "used", "expired", "redirect_uri"]


def redeem_code(
    app: FakeState, raw: object, kind: str, redirect_uri: object, error: Callable[[CodeProblem], Exception]
) -> tuple[AuthCode, IGUser]:
    """Spend a single-use authorization code of ``kind`` given with ``redirect_uri``; ``error`` makes the
    provider's own error for what is wrong with it."""
    code = app.store.codes.get(str(raw))
    problem: CodeProblem | None = None
    if code is None or code.kind != kind:
        problem = "not_found"
    elif code.used:
        problem = "used"
    elif app.now() >= code.expires_at:
        problem = "expired"
    elif redirect_uri != code.redirect_uri:
        problem = "redirect_uri"
    if problem is not None or code is None:
        raise error(problem or "not_found")
    code.used = True
    return code, app.store.users[code.user_id]


def _ig_code_error(problem: CodeProblem) -> Exception:
    if problem == "redirect_uri":
        return OAuthError(REDIRECT_MISMATCH)
    return OAuthError("Matching code was not found or was already used")


def _fb_code_error(problem: CodeProblem) -> Exception:
    return {
        "not_found": GraphError(100, "Invalid verification code format."),
        "used": GraphError(100, "This authorization code has been used.", 36009),
        "expired": GraphError(100, "This authorization code has expired.", 36007),
        "redirect_uri": GraphError(100, REDIRECT_MISMATCH),
    }[problem]


def ig_exchange_code(app: FakeState, req: Request) -> Response:
    cfg = app.config
    if req.method != "POST":
        raise OAuthError("Unsupported request method: use POST")
    p = req.params
    with app.store.lock:
        for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
            if not p.get(name):
                raise OAuthError(f"Missing required field {name}")
        if p["client_id"] != cfg.ig_app_id or p["client_secret"] != cfg.ig_app_secret:
            raise OAuthError("Invalid platform app")
        if p["grant_type"] != "authorization_code":
            raise OAuthError("Invalid grant_type: must be authorization_code")
        code, user = redeem_code(app, p["code"], "ig", p["redirect_uri"], _ig_code_error)
        tok = issue_token(app, "ig_short", user, cfg.short_lived_seconds, code.scopes, cfg.ig_app_id)
        if cfg.code_exchange_shape == "flat":
            return Response.json(
                {"access_token": tok.token, "user_id": int(user.user_id), "permissions": code.scopes}
            )
        return Response.json(
            {
                "data": [
                    {
                        "access_token": tok.token,
                        "user_id": user.user_id,
                        "permissions": ",".join(code.scopes),
                    }
                ]
            }
        )


def _long_lived_response(app: FakeState, tok: Token) -> Response:
    cfg = app.config
    return Response.json(
        {
            "access_token": tok.token,
            "token_type": "bearer",
            "expires_in": cfg.long_lived_seconds - cfg.expires_in_skew_seconds,
        }
    )


def ig_long_lived(app: FakeState, req: Request) -> Response:
    """GET graph.instagram.com/access_token?grant_type=ig_exchange_token."""
    cfg = app.config
    if req.method != "GET":
        raise GraphError(100, "Unsupported request - method type: post", type_="IGApiException")
    if req.param("grant_type") != "ig_exchange_token":
        raise GraphError(100, "Unsupported grant_type: expected ig_exchange_token")
    if not req.param("client_secret"):
        raise missing_param("client_secret")
    if req.param("client_secret") != cfg.ig_app_secret:
        raise GraphError(1, "Error validating client secret.")
    tok = validate_token(app, req.param("access_token"), ("ig_short", "ig_long"))
    if tok.kind != "ig_short":
        raise GraphError(100, "Invalid parameter: the access token is not a short-lived token")
    user = app.store.users[tok.user_id]
    new = issue_token(app, "ig_long", user, cfg.long_lived_seconds, tok.scopes, tok.app_id)
    return _long_lived_response(app, new)


def ig_refresh(app: FakeState, req: Request) -> Response:
    """GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token (GET only, OBS)."""
    cfg = app.config
    if req.method != "GET":
        raise GraphError(
            100, f"Unsupported request - method type: {req.method.lower()}", type_="IGApiException"
        )
    if req.param("grant_type") != "ig_refresh_token":
        raise GraphError(100, "Unsupported grant_type: expected ig_refresh_token")
    tok = validate_token(app, _token_param(req), ("ig_short", "ig_long"))
    if tok.kind != "ig_long":
        raise GraphError(100, "Invalid parameter: only long-lived access tokens can be refreshed")
    if "instagram_business_basic" not in tok.scopes:
        raise GraphError(10, "(#10) Application does not have permission for this action")
    if app.now() - tok.issued_at < cfg.refresh_min_age_seconds:
        raise GraphError.from_spec(cfg.refresh_too_young_error)
    user = app.store.users[tok.user_id]
    new = issue_token(app, "ig_long", user, cfg.long_lived_seconds, tok.scopes, tok.app_id)
    new.refreshed_from = tok.token
    if cfg.refresh_revokes_old_token:
        tok.revoked_subcode = 467
        tok.revoked_at = app.now()
    return _long_lived_response(app, new)


def _token_param(req: Request) -> str | None:
    raw = req.param("access_token")
    if raw:
        return str(raw)
    auth = req.header("authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


# ----------------------------------------------------------------------------------------------
# Facebook Login (§11)


def _fb_error_page(message: str) -> Response:
    return Response.html(
        f"<!doctype html><html><body><h1>Error</h1><p id='error'>{html.escape(message)}</p></body></html>",
        status=400,
    )


def fb_dialog(app: FakeState, req: Request) -> Response:
    cfg = app.config
    with app.store.lock:
        if req.param("client_id") != cfg.fb_app_id:
            return _fb_error_page("Invalid App ID: The provided app ID does not look like a valid app ID.")
        redirect_uri = req.param("redirect_uri")
        if not redirect_uri or (cfg.allowed_redirect_uris and redirect_uri not in cfg.allowed_redirect_uris):
            return _fb_error_page(
                "URL Blocked: This redirect failed because the redirect URI is not whitelisted in the "
                "app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all "
                "your app domains as Valid OAuth Redirect URIs."
            )
        response_type = str(req.param("response_type") or "code")
        if response_type not in ("code", "token"):
            return _fb_error_page(f"Unsupported response_type: {response_type}")
        scopes = _split_scopes(req.param("scope")) or list(FB_DEFAULT_SCOPES)
        user = _login_user(app, req)
        state = req.param("state")
        decision = _decision(app, req)
        if decision is None:
            return _consent_page(req, user, "Continue as " + user.fb_user_name + "?", scopes)
        if decision == "deny":
            params = {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
            }
            if state is not None:
                params["state"] = state
            return Response.redirect(_with_query(redirect_uri, params, "#_=_"))
        if response_type == "token":
            tok = issue_token(app, "fb_short", user, cfg.fb_short_lived_seconds, scopes, cfg.fb_app_id)
            frag = {"access_token": tok.token, "expires_in": str(cfg.fb_short_lived_seconds)}
            if state is not None:
                frag["state"] = state
            return Response.redirect(redirect_uri + "#" + urlencode(frag))
        code = AuthCode(
            code=random_code(),
            kind="fb",
            client_id=cfg.fb_app_id,
            redirect_uri=redirect_uri,
            user_id=user.user_id,
            scopes=scopes,
            expires_at=app.now() + cfg.fb_code_ttl_seconds,
        )
        app.store.codes[code.code] = code
        params = {"code": code.code}
        if state is not None:
            params["state"] = state
        return Response.redirect(_with_query(redirect_uri, params, "#_=_"))


def fb_access_token(app: FakeState, req: Request) -> Response:
    """graph.facebook.com/oauth/access_token: code exchange and fb_exchange_token."""
    cfg = app.config
    p = req.params
    if not p.get("client_id"):
        raise GraphError(101, "Missing client_id parameter.")
    if p["client_id"] != cfg.fb_app_id:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if p.get("client_secret") != cfg.fb_app_secret:
        raise GraphError(1, "Error validating client secret.")
    if p.get("grant_type") == "fb_exchange_token":
        tok = validate_token(app, p.get("fb_exchange_token"), ("fb_short", "fb_long"))
        user = app.store.users[tok.user_id]
        new = issue_token(app, "fb_long", user, cfg.long_lived_seconds, tok.scopes, tok.app_id)
        return _long_lived_response(app, new)
    if not p.get("code"):
        raise missing_param("code")
    code, user = redeem_code(app, p["code"], "fb", p.get("redirect_uri"), _fb_code_error)
    tok = issue_token(app, "fb_short", user, cfg.fb_short_lived_seconds, code.scopes, cfg.fb_app_id)
    return Response.json(
        {"access_token": tok.token, "token_type": "bearer", "expires_in": cfg.fb_short_lived_seconds}
    )


def fb_debug_token(app: FakeState, req: Request) -> Response:
    cfg = app.config
    caller = _token_param(req)
    if caller != f"{cfg.fb_app_id}|{cfg.fb_app_secret}":
        validate_token(app, caller, ("fb_short", "fb_long", "fb_page"))
    raw = req.param("input_token")
    if not raw:
        raise missing_param("input_token")
    tok = app.store.tokens.get(str(raw))
    now = app.now()
    if tok is None or not tok.kind.startswith("fb"):
        return Response.json(
            {"data": {"error": {"code": 190, "message": "Invalid OAuth access token."}, "is_valid": False,
                      "scopes": []}}
        )
    user = app.store.users[tok.user_id]
    valid = tok.revoked_subcode is None and (tok.expires_at is None or now < tok.expires_at)
    data: dict[str, Any] = {
        "app_id": tok.app_id,
        "type": "PAGE" if tok.kind == "fb_page" else "USER",
        "application": "igpub (fake)",
        "data_access_expires_at": int(now + 90 * 86400),
        "expires_at": int(tok.expires_at) if tok.expires_at is not None else 0,
        "is_valid": valid,
        "issued_at": int(tok.issued_at),
        "scopes": tok.scopes,
        "user_id": user.fb_user_id,
    }
    if tok.kind == "fb_page":
        data["profile_id"] = user.page_id
    return Response.json({"data": data})
