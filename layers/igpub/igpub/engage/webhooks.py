"""Instagram webhooks: the verification handshake and signed notifications.

https://developers.facebook.com/docs/instagram-platform/webhooks
https://developers.facebook.com/docs/instagram-platform/webhooks/examples
https://developers.facebook.com/docs/instagram-platform/self-messaging

* ``GET``: Meta sends ``hub.mode=subscribe``, ``hub.challenge`` and ``hub.verify_token``; igpub answers
  200 with the bare challenge when the token matches, else 403.
* ``POST``: ``X-Hub-Signature-256: sha256=<hex>`` is the HMAC-SHA256 of the raw body keyed with the app
  secret. igpub checks it (constant-time) before parsing anything; a missing or wrong signature is
  refused with 403 and nothing is stored. Which secret signs Instagram-Login webhooks is not stated
  clearly by Meta: igpub assumes the Instagram app secret (the one it already keeps).
* Each change is stored once (key = account, field and comment id, or a hash of the change), with an
  expiry past Meta's 36 h retry window, so Meta's retries are de-duplicated. A new comment becomes
  ``igpub.CommentReceived``, a mention ``igpub.MentionReceived`` on the event bus. A comment the
  account wrote itself (a first comment, a reply) comes back with ``from.id`` = the account id (and
  ``from.self_ig_scoped_id``): it is stored marked ``own`` and triggers nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from igpub.observability import logger

RETENTION_S = 7 * 86_400  # Meta retries for up to 36 h; keep the de-duplication keys well past that
# The App Dashboard's "Test" button sends these canned values; they are stored, never turned into events.
DASHBOARD_TEST_IDS = {"232323232", "123123123"}


class BadSignature(Exception):
    """The notification is unsigned or signed with another secret."""


def signature_valid(raw: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Constant-time check of ``X-Hub-Signature-256`` against each candidate secret."""
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower()
    ok = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        ok |= hmac.compare_digest(expected, given)
    return ok


def handshake(params: Mapping[str, str], verify_token: str) -> tuple[int, str]:
    """The verification GET: (status, body)."""
    mode = params.get("hub.mode") or params.get("hub_mode")
    token = params.get("hub.verify_token") or params.get("hub_verify_token") or ""
    challenge = params.get("hub.challenge") or params.get("hub_challenge") or ""
    if mode != "subscribe" or not challenge or not verify_token:
        return 403, "forbidden"
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return 403, "forbidden"
    return 200, challenge


# ----------------------------------------------------------------------------------------------------
# Notifications


@dataclass(frozen=True)
class Change:
    account_id: str  # entry.id: the IG professional account the notification is about
    field: str
    value: dict[str, Any]
    sent_at: int  # entry.time (seconds or milliseconds in Meta's samples), as seconds

    @property
    def comment_id(self) -> str | None:
        raw = self.value.get("id") or self.value.get("comment_id")
        return str(raw) if raw is not None else None

    @property
    def media_id(self) -> str | None:
        media = self.value.get("media")
        raw = media.get("id") if isinstance(media, Mapping) else self.value.get("media_id")
        return str(raw) if raw is not None else None

    @property
    def author_id(self) -> str | None:
        sender = self.value.get("from")
        return str(sender["id"]) if isinstance(sender, Mapping) and sender.get("id") is not None else None

    @property
    def own(self) -> bool:
        """Written by the account itself (igpub's first comment or reply): a loop guard."""
        sender = self.value.get("from")
        if isinstance(sender, Mapping) and sender.get("self_ig_scoped_id"):
            return True
        return self.author_id == self.account_id

    @property
    def dashboard_test(self) -> bool:
        return self.author_id in DASHBOARD_TEST_IDS or self.media_id in DASHBOARD_TEST_IDS

    def key(self) -> str:
        """The de-duplication key of this change."""
        if self.comment_id:
            return f"{self.account_id}#{self.field}#{self.comment_id}"
        canonical = json.dumps(self.value, sort_keys=True, separators=(",", ":"))
        return f"{self.account_id}#{self.field}#sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def _id(value: Any) -> str:
    return str(value) if value is not None else ""


def parse(raw: bytes) -> list[Change]:
    """The changes in a notification body (``entry[].changes[]``; a change placed directly in ``entry`` is
    tolerated, as in one of Meta's doc samples). Messaging entries (``messaging[]``) are ignored."""
    body = json.loads(raw)
    if not isinstance(body, dict) or body.get("object") not in ("instagram", "user", "page"):
        raise ValueError("not an Instagram webhook notification")
    out: list[Change] = []
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        account_id = _id(entry.get("id"))
        sent = entry.get("time")
        sent_s = int(sent / 1000) if isinstance(sent, int | float) and sent > 10**11 else int(sent or 0)
        changes = entry.get("changes")
        if changes is None and "field" in entry:
            changes = [{"field": entry["field"], "value": entry.get("value")}]
        for change in changes or []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                out.append(Change(account_id, str(change.get("field")), change["value"], sent_s))
    return out


# ----------------------------------------------------------------------------------------------------
# Processing


class ChangeStore(Protocol):
    def claim(self, key: str, item: dict[str, Any]) -> bool:
        """Store the change unless its key exists; True when this call stored it."""

    def pending_event(self, key: str) -> bool:
        """True when the change is stored but its event was not put on the bus yet."""

    def mark_event_sent(self, key: str, now: float) -> None: ...


class EventSink(Protocol):
    def engagement_received(self, detail_type: str, detail: dict[str, Any]) -> None: ...


COMMENT_RECEIVED = "igpub.CommentReceived"
MENTION_RECEIVED = "igpub.MentionReceived"


@dataclass
class Outcome:
    stored: int = 0
    duplicates: int = 0
    own: int = 0
    events: list[str] = field(default_factory=list)


def classify(change: Change, username: str | None) -> str | None:
    """The event a change becomes, or None (own comment, test payload, other fields)."""
    if change.own or change.dashboard_test:
        return None
    if change.field == "mentions":
        return MENTION_RECEIVED
    if change.field in ("comments", "live_comments"):
        text = str(change.value.get("text") or "")
        if username and f"@{username}".lower() in text.lower():
            return MENTION_RECEIVED
        return COMMENT_RECEIVED
    return None


def process(
    changes: Sequence[Change],
    *,
    store: ChangeStore,
    events: EventSink,
    username_of: Callable[[str], str | None],
    now: float,
) -> Outcome:
    outcome = Outcome()
    for change in changes:
        key = change.key()
        event = classify(change, username_of(change.account_id))
        item = {
            "pk": key,
            "account_id": change.account_id,
            "field": change.field,
            "comment_id": change.comment_id,
            "media_id": change.media_id,
            "author_id": change.author_id,
            "own": change.own,
            "event": event,
            "event_sent": event is None,
            "value": json.dumps(change.value, separators=(",", ":")),
            "sent_at": change.sent_at,
            "received_at": int(now),
            "expires_at": int(now) + RETENTION_S,
        }
        if store.claim(key, item):
            outcome.stored += 1
        elif store.pending_event(key):
            pass  # stored by an earlier delivery whose event did not reach the bus: send it now
        else:
            outcome.duplicates += 1
            continue
        if change.own:
            outcome.own += 1
        if event is not None:
            events.engagement_received(event, _detail(change))
            store.mark_event_sent(key, now)
            outcome.events.append(event)
    logger.info("webhook processed", extra={"stored": outcome.stored, "duplicates": outcome.duplicates,
                                             "own": outcome.own, "events": len(outcome.events)})
    return outcome


def _detail(change: Change) -> dict[str, Any]:
    sender = change.value.get("from")
    return {
        "account_id": change.account_id,
        "field": change.field,
        "comment_id": change.comment_id,
        "parent_id": _id(change.value.get("parent_id")) or None,
        "media_id": change.media_id,
        "text": change.value.get("text"),
        "from": {"id": change.author_id,
                 "username": sender.get("username") if isinstance(sender, Mapping) else None},
        "sent_at": change.sent_at,
    }
