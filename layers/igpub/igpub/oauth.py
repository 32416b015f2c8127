"""Instagram Login (Business Login for Instagram): the connect redirect and the callback.

The callback: check and consume the single-use state (before any call to Instagram), exchange the
code for a short-lived token, exchange that for a long-lived one, read /me, and store the account
with its token encrypted by KMS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from igpub import login
from igpub.accounts import Account
from igpub.config import REQUIRED_SCOPES, Settings
from igpub.instagram.client import InstagramClient
from igpub.login import Provider
from igpub.observability import logger
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.states import OAuthState, StateRepository
from igpub.repositories.tokens import TokenCipher

FLOW = "instagram"

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


def authorize_url(settings: Settings, *, redirect_uri: str, state: str) -> str:
    return login.authorize_url(
        settings.instagram_authorize_url,
        client_id=settings.instagram_app_id,
        redirect_uri=redirect_uri,
        scopes=settings.scopes,
        state=state,
    )


def start_connect(
    settings: Settings, *, states: StateRepository, redirect_uri: str, now: int, invite_hash: str | None = None
) -> str:
    state = states.create(flow=FLOW, now=now, ttl_s=settings.oauth_state_ttl_s, invite_hash=invite_hash)
    return authorize_url(settings, redirect_uri=redirect_uri, state=state.state)


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
) -> Connected:
    code = login.authorization_code(PROVIDER, states, params, now=now, after_state=after_state)
    secret = app_secret()
    with login.exchange_problems(PROVIDER):
        short = client.exchange_code(code, redirect_uri=redirect_uri, app_secret=secret)
        long_lived = client.exchange_long_lived(short.access_token.get_secret_value(), app_secret=secret)
        token = long_lived.access_token.get_secret_value()
        me = client.get_me(token)

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
    return Connected(account=account, missing_scopes=missing)
