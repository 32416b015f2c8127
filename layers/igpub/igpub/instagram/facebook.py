"""Facebook Login (graph.facebook.com): the user token, its Pages with their linked Instagram accounts,
and hashtag search (budgeted: 30 unique hashtags per account per 7 days).

https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/hashtag-search
"""

from __future__ import annotations

from igpub.instagram.core import GraphCore, Retry
from igpub.instagram.errors import Operation
from igpub.instagram.models import FacebookPage, FacebookToken, HashtagMedia, HashtagSearchResult
from igpub.instagram.tokens import strip_code

HASHTAG_MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp,like_count,comments_count"
PAGE_FIELDS = "id,name,access_token,instagram_business_account"


class FacebookApi(GraphCore):
    """Facebook Login tokens, Pages, and hashtag search."""

    def exchange_facebook_code(self, code: str, redirect_uri: str, app_id: str, app_secret: str) -> FacebookToken:
        """Code -> Facebook user token (``GET graph.facebook.com/{v}/oauth/access_token``)."""
        params = {
            "client_id": app_id,
            "redirect_uri": redirect_uri,
            "client_secret": app_secret,
            "code": strip_code(code),
        }
        url = self.settings.graph_url("oauth/access_token", facebook=True)
        body = self._call("GET", url, op=Operation.OAUTH, retry=Retry.EXCHANGE, params=params)
        return self._model(FacebookToken, body, "oauth/access_token")

    def exchange_facebook_long_lived(self, token: str, app_id: str, app_secret: str) -> FacebookToken:
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "fb_exchange_token": token,
        }
        url = self.settings.graph_url("oauth/access_token", facebook=True)
        body = self._call("GET", url, op=Operation.OAUTH, retry=Retry.READ, params=params)
        return self._model(FacebookToken, body, "oauth/access_token")

    def get_facebook_user_id(self, token: str) -> str:
        """The app-scoped id of the Facebook user (``GET /me?fields=id``): what Meta's deauthorize and data
        deletion callbacks name the person by (https://developers.facebook.com/docs/apps/delete-data)."""
        body = self._graph("GET", "me", token, params={"fields": "id"}, op=Operation.READ, facebook=True)
        return str(body.get("id") or "") if isinstance(body, dict) else ""

    def get_facebook_pages(self, token: str) -> list[FacebookPage]:
        """The user's Pages with their linked Instagram professional account (``/me/accounts``)."""
        items = self._edge("me/accounts", token, {"fields": PAGE_FIELDS}, limit=None, facebook=True)
        return [self._model(FacebookPage, item, "me/accounts") for item in items]

    def hashtag_search(self, ig_user_id: str, token: str, q: str) -> str:
        """The (static, global) id of a hashtag. Counts against the 30-per-7-days budget."""
        body = self._graph(
            "GET",
            "ig_hashtag_search",
            token,
            params={"user_id": ig_user_id, "q": q.strip().lstrip("#")},
            op=Operation.HASHTAG_SEARCH,
            account_id=ig_user_id,
            facebook=True,
        )
        return self._model(HashtagSearchResult, body, "ig_hashtag_search").id

    def hashtag_top_media(self, hashtag_id: str, ig_user_id: str, token: str, limit: int = 25) -> list[HashtagMedia]:
        params = {"user_id": ig_user_id, "fields": HASHTAG_MEDIA_FIELDS}
        items = self._edge(
            f"{hashtag_id}/top_media",
            token,
            params,
            limit=limit,
            facebook=True,
            op=Operation.HASHTAG_SEARCH,
            account_id=ig_user_id,
        )
        return [self._model(HashtagMedia, item, "top_media") for item in items]
