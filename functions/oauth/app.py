"""OAuth routes: GET /connect and GET /oauth/callback (Instagram Login); GET /connect/facebook and
GET /oauth/facebook/callback (Facebook Login, for hashtag discovery)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import Settings, get_settings
from igpub.connect import facebook_login, invites, login, oauth
from igpub.connect.pages import page
from igpub.observability import logger, metrics, tracer

app = APIGatewayRestResolver()


@cache
def _deps() -> wiring.OAuth:
    return wiring.oauth(get_settings())


def _redirect_uri(settings: Settings) -> str:
    if settings.oauth_redirect_uri:
        return settings.oauth_redirect_uri
    return str(parameters.get_parameter(settings.redirect_uri_parameter, max_age=3600))


def _app_secret(settings: Settings) -> str:
    return str(parameters.get_secret(settings.app_secret_name, max_age=300))


def _html(status: int, body: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.TEXT_HTML,
        body=body,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _invite(deps: wiring.OAuth, flow: str, now: int) -> str:
    """The hash of the request's valid invite (``?invite=``), or InviteRefused."""
    invite = app.current_event.get_query_string_value("invite")
    return invites.check(deps.invites, invite, flow=flow, now=now).invite_hash


def _refused(refused: invites.InviteRefused) -> Response[str]:
    logger.info("connect refused", extra={"invite": refused.reason})
    return _html(refused.status, page(refused.title, refused.detail, ok=False))


def _gated[R](complete: Callable[[invites.InviteGate], R], *, account_of: Callable[[R], str]) -> R | Response[str]:
    """Run a callback's ``complete`` behind the invite gate: the invite is claimed after the state check
    (``after_state=gate``), released when the sign-in fails, and spent for the account connected."""
    gate = invites.InviteGate(_deps().invites, now=int(time.time()))
    try:
        result = complete(gate)
    except invites.InviteRefused as refused:
        return _refused(refused)
    except login.CallbackProblem as problem:
        gate.failed()
        return _html(problem.status, page(problem.title, problem.detail, ok=False))
    except Exception:
        gate.failed()
        raise
    gate.succeeded(account_of(result))
    return result


@app.get("/connect")
def connect() -> Response[str]:
    deps = _deps()
    settings = deps.settings
    now = int(time.time())
    try:
        features = oauth.parse_features(app.current_event.get_query_string_value("with"))
    except ValueError as exc:
        return _html(400, page("Unknown option", str(exc), ok=False))
    try:
        invite_hash = _invite(deps, oauth.FLOW, now)
    except invites.InviteRefused as refused:
        return _refused(refused)
    url = oauth.start_connect(
        settings, states=deps.states, redirect_uri=_redirect_uri(settings), now=now, invite_hash=invite_hash,
        features=features,
    )
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@app.get("/oauth/callback")
def callback() -> Response[str]:
    deps = _deps()
    settings = deps.settings
    params = {k: v for k, v in (app.current_event.query_string_parameters or {}).items() if v is not None}
    outcome = _gated(
        lambda gate: oauth.complete_callback(
            settings,
            params,
            states=deps.states,
            client=deps.client,
            accounts=deps.accounts,
            cipher=deps.cipher,
            app_secret=lambda: _app_secret(settings),
            redirect_uri=_redirect_uri(settings),
            now=int(time.time()),
            after_state=gate,
            after_save=gate.succeeded,
        ),
        account_of=lambda r: r.account.account_id,
    )
    if isinstance(outcome, Response):
        return outcome
    result = outcome
    account = result.account
    body = f"@{account.username} (account {account.account_id}) is connected to igpub."
    if result.missing_scopes:
        body += " Missing permissions: " + ", ".join(result.missing_scopes) + ": publishing will not work."
    if result.lost_scopes:
        features = oauth.features_of(list(result.lost_scopes))
        body += (" This connection did not ask for permissions the account had before: "
                 + ", ".join(result.lost_scopes) + f". To keep {', '.join(features) or 'them'}, connect again with "
                 f"the link of: igpub connect --account {account.account_id}")
    if result.webhooks_subscribed is not None:
        body += " Webhooks: " + ("enabled." if result.webhooks_subscribed else "not enabled (see the logs).")
    return _html(200, page("Instagram account connected", body, ok=True))


# ------------------------------------------------------------------ Facebook Login (hashtag discovery)
def _facebook_redirect_uri(settings: Settings) -> str:
    if settings.facebook_redirect_uri:
        return settings.facebook_redirect_uri
    return str(parameters.get_parameter(settings.facebook_redirect_uri_parameter, max_age=3600))


@app.get("/connect/facebook")
def connect_facebook() -> Response[str]:
    deps = _deps()
    settings = deps.settings
    now = int(time.time())
    try:
        url = facebook_login.start_connect(
            settings, states=deps.states, redirect_uri=_facebook_redirect_uri(settings), now=now,
            invite_hash=_invite(deps, facebook_login.FLOW, now) if settings.facebook_app_id else None,
        )
    except invites.InviteRefused as refused:
        return _refused(refused)
    except facebook_login.NotConfigured:
        return _html(
            404,
            page(
                "Hashtag discovery is not set up",
                "This igpub deployment has no Facebook app (the FacebookAppId parameter is empty).",
                ok=False,
            ),
        )
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@app.get("/oauth/facebook/callback")
def facebook_callback() -> Response[str]:
    deps = _deps()
    settings = deps.settings
    params = {k: v for k, v in (app.current_event.query_string_parameters or {}).items() if v is not None}
    outcome = _gated(
        lambda gate: facebook_login.complete_callback(
            settings,
            params,
            states=deps.states,
            client=deps.client,
            hashtags=deps.hashtags,
            cipher=deps.cipher,
            app_secret=lambda: str(parameters.get_secret(settings.facebook_app_secret_name, max_age=300)),
            redirect_uri=_facebook_redirect_uri(settings),
            now=int(time.time()),
            after_state=gate,
            after_save=gate.succeeded,
        ),
        account_of=lambda r: r.accounts[0].account_id if r.accounts else "",
    )
    if isinstance(outcome, Response):
        return outcome
    result = outcome
    linked = ", ".join(f"{c.account_id} (Page {c.page_name or c.page_id})" for c in result.accounts)
    body = f"Hashtag discovery is connected for Instagram account {linked}. Try: igpub hashtags discover SEED"
    return _html(200, page("Facebook Login connected", body, ok=True))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
