"""igpub's events on an EventBridge bus (the default bus unless configured).

``igpub.CommentReceived`` / ``igpub.MentionReceived`` (Source ``igpub``): someone commented on (or
mentioned) a connected account, from Instagram's webhooks. The detail carries the account id, the
comment and media ids, the text and the commenter; comments the account made itself never become events.

``igpub.AccountNeedsReauth`` (Source ``igpub``): an account's token can no longer be refreshed or used;
its owner must connect it again. Wire a rule on it to send e-mail or a chat message. The detail carries
the account id, username, the reason and the Instagram error code; never a token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from igpub.repositories import aws

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

SOURCE = "igpub"
ACCOUNT_NEEDS_REAUTH = "igpub.AccountNeedsReauth"


class EventPublishFailed(Exception):
    """EventBridge did not accept the event."""


class EventPublisher:
    def __init__(self, bus_name: str = "default", *, client: EventBridgeClient | None = None) -> None:
        self._bus = bus_name
        self._client = client

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = aws.events()
        return self._client

    def account_needs_reauth(
        self, *, account_id: str, username: str, reason: str, error_code: int | None = None,
        error_subcode: int | None = None, now: float,
    ) -> None:
        detail: dict[str, Any] = {
            "account_id": account_id,
            "username": username,
            "reason": reason,
            "error_code": error_code,
            "error_subcode": error_subcode,
            "detected_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        }
        self._put(ACCOUNT_NEEDS_REAUTH, detail, resources=[])

    def engagement_received(self, detail_type: str, detail: dict[str, Any]) -> None:
        self._put(detail_type, detail, resources=[])

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Any igpub event (e.g. ``igpub.AccountDeauthorized``); never a token in ``detail``."""
        self._put(detail_type, detail, resources=[])

    def post_outcome(self, detail_type: str, detail: dict[str, Any]) -> None:
        """``igpub.PostPublished`` / ``igpub.PostFailed``, sent by the publisher task that knows the outcome."""
        self._put(detail_type, detail, resources=[])

    def _put(self, detail_type: str, detail: dict[str, Any], *, resources: list[str]) -> None:
        resp = self.client.put_events(
            Entries=[{
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": self._bus,
                "Resources": resources,
            }]
        )
        if resp.get("FailedEntryCount"):
            entry = resp["Entries"][0] if resp.get("Entries") else {}
            raise EventPublishFailed(f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
