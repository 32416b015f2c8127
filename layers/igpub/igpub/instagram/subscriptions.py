"""Webhook subscriptions of one account (``/{ig_user_id}/subscribed_apps``).

https://developers.facebook.com/docs/instagram-platform/webhooks
"""

from __future__ import annotations

from collections.abc import Sequence

from igpub.instagram.core import GraphCore, Retry
from igpub.instagram.errors import Operation, UnexpectedResponseError
from igpub.instagram.models import SubscribedApp


class SubscriptionsApi(GraphCore):
    """Per-account webhook enablement."""

    def subscribe_app(self, ig_user_id: str, token: str, fields: Sequence[str]) -> None:
        """``POST /{ig_user_id}/subscribed_apps?subscribed_fields=...``: webhooks for this account."""
        body = self._graph("POST", f"{ig_user_id}/subscribed_apps", token,
                           data={"subscribed_fields": ",".join(fields)}, op=Operation.WRITE,
                           retry=Retry.READ, account_id=ig_user_id)
        self._success(body, "subscribed_apps")

    def get_subscribed_apps(self, ig_user_id: str, token: str) -> list[SubscribedApp]:
        body = self._graph("GET", f"{ig_user_id}/subscribed_apps", token, account_id=ig_user_id)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise UnexpectedResponseError("subscribed_apps answered without a data list")
        return [self._model(SubscribedApp, item, "subscribed_apps") for item in data]
