"""Facebook Login for Business: the second connection of an account, for hashtag discovery only.

Hashtag search exists only on graph.facebook.com with a Facebook *user* token:
https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/hashtag-search
``GET /connect/facebook`` -> the Facebook Login dialog with a single-use state (flow ``facebook``);
``GET /oauth/facebook/callback``: check and consume the state (before any call to Meta), exchange the
code for a user token, exchange that for a long-lived one (~60 days; Facebook user tokens cannot be
refreshed, the user logs in again), read ``/me/accounts`` to find the Instagram professional account
linked to each Page, and store the token KMS-encrypted (encryption context
``{"account_id": <instagram account id>, "purpose": "facebook"}``) for each linked account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from igpub.config import Settings
from igpub.connect import login
from igpub.connect.login import CallbackProblem, Provider
from igpub.instagram.client import InstagramClient
from igpub.observability import logger
from igpub.repositories.hashtags import FacebookConnection, HashtagRepository
from igpub.repositories.states import OAuthState, StateRepository
from igpub.repositories.tokens import TokenCipher

FLOW = "facebook"
PURPOSE = "facebook"
# instagram_basic + Public Content Access (App Review) for hashtag search; pages_show_list for /me/accounts;
# pages_read_engagement / business_management when the Page role comes through Business Manager
# (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/business-login-for-instagram).
DEFAULT_SCOPES = ("instagram_basic", "pages_show_list", "pages_read_engagement", "business_management")
DEFAULT_LIFETIME_S = 60 * 86400  # when Facebook leaves expires_in out (it may)


PROVIDER = Provider(
    name="Facebook",
    flow=FLOW,
    not_granted="hashtag discovery stays off for now.",
    bad_app_settings=(
        "Facebook rejected the app id or secret. Check the FacebookAppId parameter and the Facebook app "
        "secret in Secrets Manager (the Meta app's, not the Instagram app's)."
    ),
    refused_advice="Start again.",
)


class NotConfigured(Exception):
    """No Facebook app id: hashtag discovery is switched off in this deployment."""


@dataclass(frozen=True)
class FacebookConnected:
    accounts: list[FacebookConnection]


def authorize_url(settings: Settings, *, redirect_uri: str, state: str) -> str:
    return login.authorize_url(
        settings.facebook_dialog_url,
        client_id=settings.facebook_app_id,
        redirect_uri=redirect_uri,
        scopes=DEFAULT_SCOPES,
        state=state,
    )


def start_connect(
    settings: Settings, *, states: StateRepository, redirect_uri: str, now: int, invite_hash: str | None = None
) -> str:
    if not settings.facebook_app_id:
        raise NotConfigured("FacebookAppId is empty")
    state = states.create(flow=FLOW, now=now, ttl_s=settings.oauth_state_ttl_s, invite_hash=invite_hash)
    return authorize_url(settings, redirect_uri=redirect_uri, state=state.state)


def complete_callback(
    settings: Settings,
    params: Mapping[str, str],
    *,
    states: StateRepository,
    client: InstagramClient,
    hashtags: HashtagRepository,
    cipher: TokenCipher,
    app_secret: Callable[[], str],
    redirect_uri: str,
    now: int,
    after_state: Callable[[OAuthState], None] = lambda _state: None,
    after_save: Callable[[str], None] = lambda _account_id: None,
) -> FacebookConnected:
    code = login.authorization_code(PROVIDER, states, params, now=now, after_state=after_state)
    secret = app_secret()
    with login.exchange_problems(PROVIDER):
        short = client.exchange_facebook_code(code, redirect_uri, settings.facebook_app_id, secret)
        long_lived = client.exchange_facebook_long_lived(
            short.access_token.get_secret_value(), settings.facebook_app_id, secret
        )
        token = long_lived.access_token.get_secret_value()
        pages = client.get_facebook_pages(token)
        facebook_user_id = client.get_facebook_user_id(token)  # issue 22: Meta's callbacks name the person by it

    linked = [p for p in pages if p.instagram_business_account is not None]
    if not linked:
        raise CallbackProblem(
            400,
            "No Instagram account found",
            "None of the Facebook Pages you shared is linked to an Instagram professional account. Link the "
            "Instagram account to its Page (Meta Business Suite), then connect again and select that Page.",
        )
    expires_at = now + int(long_lived.expires_in or DEFAULT_LIFETIME_S)
    saved: list[FacebookConnection] = []
    for page in linked:
        assert page.instagram_business_account is not None
        ig_id = page.instagram_business_account.id
        conn = FacebookConnection(
            account_id=ig_id,
            token_ciphertext=cipher.encrypt(token, account_id=ig_id, purpose=PURPOSE),
            token_expires_at=expires_at,
            page_id=page.id,
            page_name=page.name,
            scopes=list(DEFAULT_SCOPES),
            connected_at=now,
            updated_at=now,
            facebook_user_id=facebook_user_id,
        )
        hashtags.save_facebook(conn)
        if not saved:
            after_save(ig_id)  # connected: whatever fails after this, the invite stays spent
        saved.append(conn)
        logger.info("facebook login connected", extra={"account_id": ig_id, "page_id": page.id})
    return FacebookConnected(accounts=saved)
