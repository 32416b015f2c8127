"""Instagram Login (Business Login for Instagram): the connect redirect and the callback.

The callback: check and consume the single-use state (before any call to Instagram), exchange the
code for a short-lived token, exchange that for a long-lived one, read /me, and store the account
with its token encrypted by KMS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from igpub.accounts import Account
from igpub.config import REQUIRED_SCOPES, Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import InstagramError, OAuthError
from igpub.observability import logger
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.states import OAuthState, StateRepository
from igpub.repositories.tokens import TokenCipher

FLOW = "instagram"
# `igpub connect --with ...` (GET /connect?with=...): the scopes each feature needs on top of publishing.
# https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
FEATURE_SCOPES: dict[str, tuple[str, ...]] = {
    "comments": ("instagram_business_manage_comments",),
    "insights": ("instagram_business_manage_insights",),
    "webhooks": ("instagram_business_manage_comments",),  # the `comments` webhook field needs it
}
WEBHOOK_FIELDS = ("comments",)


def parse_features(raw: str | None) -> tuple[str, ...]:
    """``"comments,insights"`` -> the known features, in order; unknown names raise ValueError."""
    names = [n.strip().lower() for n in (raw or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in FEATURE_SCOPES]
    if unknown:
        raise ValueError(f"unknown feature(s): {', '.join(unknown)} (known: {', '.join(FEATURE_SCOPES)})")
    return tuple(dict.fromkeys(names))


class CallbackProblem(Exception):
    """A callback that cannot connect an account; becomes an HTML error page."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


@dataclass(frozen=True)
class Connected:
    account: Account
    missing_scopes: list[str]
    webhooks_subscribed: bool | None = None  # None: not asked for


def authorize_url(settings: Settings, *, redirect_uri: str, state: str, features: tuple[str, ...] = ()) -> str:
    scopes = list(dict.fromkeys([*settings.scopes, *(s for f in features for s in FEATURE_SCOPES[f])]))
    query = {
        "client_id": settings.instagram_app_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": ",".join(scopes),
        "state": state,
    }
    return f"{settings.instagram_authorize_url}?{urlencode(query)}"


def start_connect(
    settings: Settings, *, states: StateRepository, redirect_uri: str, now: int, features: tuple[str, ...] = ()
) -> str:
    state = states.create(flow=FLOW, now=now, ttl_s=settings.oauth_state_ttl_s, features=features)
    return authorize_url(settings, redirect_uri=redirect_uri, state=state.state, features=features)


def consume_state(states: StateRepository, params: Mapping[str, str], *, flow: str, now: int) -> OAuthState:
    record = states.consume(params.get("state", ""))
    if record is None or record.flow != flow:
        raise CallbackProblem(
            400,
            "This sign-in link is not valid any more",
            "The login session is unknown or was already used. Start again from the connect page.",
        )
    if record.expires_at < now:
        raise CallbackProblem(
            400,
            "This sign-in link has expired",
            "More than 10 minutes passed since you started. Start again from the connect page.",
        )
    return record


def complete_callback(
    settings: Settings,
    params: Mapping[str, str],
    *,
    states: StateRepository,
    client: InstagramClient,
    accounts: AccountRepository,
    cipher: TokenCipher,
    app_secret: Callable[[], str],
    redirect_uri: str,
    now: int,
) -> Connected:
    record = consume_state(states, params, flow=FLOW, now=now)
    if params.get("error"):
        reason = params.get("error_description") or params.get("error_reason") or params["error"]
        raise CallbackProblem(
            400,
            "Instagram access was not granted",
            f"Instagram said: {reason}. Nothing was connected; you can try again at any time.",
        )
    code = params.get("code", "").removesuffix("#_")
    if not code:
        raise CallbackProblem(400, "No authorization code", "Instagram did not send a code back. Try again.")
    secret = app_secret()
    try:
        short = client.exchange_code(code, redirect_uri=redirect_uri, app_secret=secret)
        long_lived = client.exchange_long_lived(short.access_token.get_secret_value(), app_secret=secret)
        token = long_lived.access_token.get_secret_value()
        me = client.get_me(token)
    except OAuthError as exc:
        logger.warning("code exchange refused", extra={"oauth_error": exc.message})
        if exc.is_configuration_error:
            raise CallbackProblem(
                502,
                "igpub's Instagram app settings are wrong",
                "Instagram rejected the app id or secret. Check the Instagram App ID parameter and the "
                "app secret in Secrets Manager (use the Instagram app's, not the Meta app's).",
            ) from exc
        raise CallbackProblem(
            400,
            "Instagram refused the sign-in",
            f"{exc.message}. Start again from the connect page.",
        ) from exc
    except InstagramError as exc:
        logger.warning("instagram call failed during connect", extra={"code": exc.code, "subcode": exc.subcode})
        raise CallbackProblem(502, "Instagram did not answer as expected", exc.advice) from exc

    account_id = me.user_id or short.user_id
    granted = short.permissions
    missing = [s for s in REQUIRED_SCOPES if granted and s not in granted]
    account = accounts.save_connection(
        account_id=account_id,
        username=me.username,
        account_type=me.account_type,
        app_scoped_id=me.id,
        scopes=granted,
        token_ciphertext=cipher.encrypt(token, account_id=account_id),
        issued_at=now,
        expires_at=now + int(long_lived.expires_in),
        now=now,
    )
    logger.append_keys(account_id=account_id)
    logger.info("account connected", extra={"username": me.username, "reconnect": account.token_version > 1})
    subscribed = None
    if "webhooks" in record.features:
        subscribed = subscribe_webhooks(client, account_id, token, granted)
    return Connected(account=account, missing_scopes=missing, webhooks_subscribed=subscribed)


def subscribe_webhooks(client: InstagramClient, account_id: str, token: str, granted: list[str]) -> bool:
    """Enable the app's webhooks for this account (``POST /{ig-id}/subscribed_apps``). A failure does not
    undo the connection: the account works without webhooks and a reconnect tries again."""
    if granted and "instagram_business_manage_comments" not in granted:
        logger.warning("webhooks not enabled: the comments permission was not granted")
        return False
    try:
        client.subscribe_app(account_id, token, WEBHOOK_FIELDS)
    except InstagramError as exc:
        logger.warning("webhooks subscription failed", extra={"code": exc.code, "subcode": exc.subcode})
        return False
    logger.info("webhooks enabled for the account", extra={"fields": list(WEBHOOK_FIELDS)})
    return True
