"""Instagram Login's tokens: the code exchange, the long-lived token, its refresh, and ``/me``.

https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token
"""

from __future__ import annotations

from igpub.instagram.core import GraphCore, Retry
from igpub.instagram.errors import Operation
from igpub.instagram.models import LongLivedToken, Me, ShortLivedToken

ME_FIELDS = "user_id,username,account_type,id"


def strip_code(code: str) -> str:
    """An authorization code without the ``#_`` / ``#_=_`` that Meta's redirects append to it."""
    code = code.strip()
    for suffix in ("#_=_", "#_"):
        code = code.removesuffix(suffix)
    return code


class TokensApi(GraphCore):
    """Instagram Login (OAuth code exchange, long-lived tokens, refresh) and ``/me``."""

    def exchange_code(
        self, code: str, redirect_uri: str, app_secret: str | None = None, *, app_id: str | None = None
    ) -> ShortLivedToken:
        """Authorization code -> short-lived token (``POST api.instagram.com/oauth/access_token``)."""
        form = {
            "client_id": app_id or self.settings.instagram_app_id,
            "client_secret": self._secret(app_secret),
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": strip_code(code),
        }
        url = f"{self.settings.instagram_api_base.rstrip('/')}/oauth/access_token"
        body = self._call("POST", url, op=Operation.OAUTH, retry=Retry.EXCHANGE, data=form)
        return self._model(ShortLivedToken, body, "oauth/access_token")

    def exchange_long_lived(self, short_token: str, app_secret: str | None = None) -> LongLivedToken:
        """Short-lived -> long-lived (60 days) token (``GET graph.instagram.com/access_token``)."""
        params = {
            "grant_type": "ig_exchange_token",
            "client_secret": self._secret(app_secret),
            "access_token": short_token,
        }
        url = f"{self.settings.graph_instagram_base.rstrip('/')}/access_token"
        body = self._call("GET", url, op=Operation.OAUTH, retry=Retry.READ, params=params)
        return self._model(LongLivedToken, body, "access_token")

    def refresh_token(self, token: str, *, account_id: str | None = None) -> LongLivedToken:
        """Refresh a long-lived token at least 24 h old (``GET graph.instagram.com/refresh_access_token``)."""
        params = {"grant_type": "ig_refresh_token", "access_token": token}
        url = f"{self.settings.graph_instagram_base.rstrip('/')}/refresh_access_token"
        body = self._call("GET", url, op=Operation.READ, retry=Retry.READ, params=params, account_id=account_id)
        return self._model(LongLivedToken, body, "refresh_access_token")

    def get_me(self, token: str, *, account_id: str | None = None) -> Me:
        body = self._graph("GET", "me", token, params={"fields": ME_FIELDS}, account_id=account_id)
        return self._model(Me, body, "me")
