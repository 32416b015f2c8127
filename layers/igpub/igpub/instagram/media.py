"""Published media: one media object, and the account's recent media (newest first, no stories).

https://developers.facebook.com/docs/instagram-platform/reference/instagram-media
"""

from __future__ import annotations

from igpub.instagram.core import GraphCore
from igpub.instagram.models import Media

DEFAULT_MEDIA_FIELDS = "id,permalink,media_type,media_product_type,shortcode,timestamp,caption"


class MediaApi(GraphCore):
    """Reads of published media."""

    def get_media(
        self, media_id: str, token: str, fields: str = DEFAULT_MEDIA_FIELDS, *, account_id: str | None = None
    ) -> Media:
        body = self._graph("GET", media_id, token, params={"fields": fields}, account_id=account_id)
        return self._model(Media, body, "media")

    def list_media(
        self, ig_user_id: str, token: str, limit: int = 25, fields: str = DEFAULT_MEDIA_FIELDS
    ) -> list[Media]:
        """The account's most recent media, newest first (``GET /{ig_user_id}/media``; no stories)."""
        items = self._edge(
            f"{ig_user_id}/media",
            token,
            {"fields": fields},
            limit=limit,
            facebook=False,
            account_id=ig_user_id,
        )
        return [self._model(Media, item, "media") for item in items]
