"""Instagram Login (Business Login for Instagram): the connect redirect and the callback.

The callback: check and consume the single-use state (before any call to Instagram), exchange the
code for a short-lived token, exchange that for a long-lived one, read /me, and store the account
with its token encrypted by KMS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from igpub.accounts import Account
from igpub.config import REQUIRED_SCOPES, Settings
from igpub.connect import login
from igpub.connect.login import Provider
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import InstagramError
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


PROVIDER = Provider(
    name="Instagram",
    flow=FLOW,
    not_granted="you can try again at any time.",
    bad_app_settings=(
        "Instagram rejected the app id or secret. Check the Instagram App ID parameter and the "
        "app secret in Secrets Manager (use the Instagram app's, not the Meta app's)."
    ),
    refused_advice="Start again from the connect page.",
)


@dataclass(frozen=True)
class Connected:
    account: Account
    missing_scopes: list[str]
    webhooks_subscribed: bool | None = None  # None: not asked for
    # permissions the account had before this connection and the new token lacks (a re-connect that asked for
    # fewer): the page names them and the command that asks for them again
    lost_scopes: tuple[str, ...] = ()


def features_of(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The `igpub connect --with` features whose scopes ``scopes`` hold (webhooks is not a permission of its own)."""
    return tuple(f for f in ("comments", "insights") if all(s in scopes for s in FEATURE_SCOPES[f]))


def authorize_url(settings: Settings, *, redirect_uri: str, state: str, features: tuple[str, ...] = ()) -> str:
    return login.authorize_url(
        settings.instagram_authorize_url,
        client_id=settings.instagram_app_id,
        redirect_uri=redirect_uri,
        scopes=list(dict.fromkeys([*settings.scopes, *(s for f in features for s in FEATURE_SCOPES[f])])),
        state=state,
    )


def start_connect(
    settings: Settings,
    *,
    states: StateRepository,
    redirect_uri: str,
    now: int,
    invite_hash: str | None = None,
    features: tuple[str, ...] = (),
) -> str:
    state = states.create(
        flow=FLOW, now=now, ttl_s=settings.oauth_state_ttl_s, invite_hash=invite_hash, features=features
    )
    return authorize_url(settings, redirect_uri=redirect_uri, state=state.state, features=features)


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
    after_state: Callable[[OAuthState], None] = lambda _state: None,
    after_save: Callable[[str], None] = lambda _account_id: None,
) -> Connected:
    consumed: list[OAuthState] = []

    def _after_state(state: OAuthState) -> None:
        consumed.append(state)  # what the connect asked for (features) travels in the state record
        after_state(state)

    code = login.authorization_code(PROVIDER, states, params, now=now, after_state=_after_state)
    record = consumed[0]
    secret = app_secret()
    with login.exchange_problems(PROVIDER):
        short = client.exchange_code(code, redirect_uri=redirect_uri, app_secret=secret)
        long_lived = client.exchange_long_lived(short.access_token.get_secret_value(), app_secret=secret)
        token = long_lived.access_token.get_secret_value()
        me = client.get_me(token)

    account_id = me.user_id or short.user_id
    granted = short.permissions
    missing = [s for s in REQUIRED_SCOPES if granted and s not in granted]
    before = accounts.get(account_id)
    lost = tuple(s for s in (before.scopes if before else []) if granted and s not in granted)
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
    after_save(account_id)  # the account is connected: whatever fails after this, the invite stays spent
    logger.append_keys(account_id=account_id)
    logger.info("account connected", extra={"username": me.username, "reconnect": account.token_version > 1})
    subscribed = None
    if "webhooks" in record.features:
        subscribed = subscribe_webhooks(client, account_id, token, granted)
    return Connected(account=account, missing_scopes=missing, webhooks_subscribed=subscribed, lost_scopes=lost)


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
