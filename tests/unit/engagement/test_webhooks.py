"""Webhook logic offline: signature, handshake, parsing, de-duplication, own comments, events."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from igpub.engage import webhooks

SECRET = "the-app-secret"
ACCOUNT = "17841400000000001"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body(*values: dict[str, Any], field: str = "comments", time: int = 1795900000) -> bytes:
    changes = [{"field": field, "value": v} for v in values]
    return json.dumps({"object": "instagram", "entry": [{"id": ACCOUNT, "time": time, "changes": changes}]}).encode()


def comment(cid: str, text: str = "Nice", author: str = "6789012345678901", **extra: Any) -> dict[str, Any]:
    return {"from": {"id": author, "username": "fan"}, "media": {"id": "m1", "media_product_type": "FEED"},
            "id": cid, "text": text, **extra}


class Store:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def claim(self, key: str, item: dict[str, Any]) -> bool:
        if key in self.items:
            return False
        self.items[key] = dict(item)
        return True

    def pending_event(self, key: str) -> bool:
        return not self.items[key]["event_sent"]

    def mark_event_sent(self, key: str, now: float) -> None:
        self.items[key]["event_sent"] = True


class Sink:
    def __init__(self, fail: int = 0) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def engagement_received(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("bus down")
        self.events.append((detail_type, detail))


def run(raw: bytes, store: Store, sink: Sink) -> webhooks.Outcome:
    return webhooks.process(webhooks.parse(raw), store=store, events=sink,
                            username_of=lambda _a: "igpub_demo", now=1795900000.0)


def test_signature_checked_on_raw_bytes() -> None:
    raw = body(comment("c1"))
    assert webhooks.signature_valid(raw, signed(raw), [SECRET])
    assert not webhooks.signature_valid(raw, signed(raw, "other"), [SECRET])
    assert not webhooks.signature_valid(raw, None, [SECRET])
    assert not webhooks.signature_valid(raw, signed(raw).removeprefix("sha256="), [SECRET])
    assert not webhooks.signature_valid(raw + b" ", signed(raw), [SECRET])  # one byte more: refused
    assert not webhooks.signature_valid(raw, signed(raw, ""), [""])


def test_handshake() -> None:
    ok = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "vt"}
    assert webhooks.handshake(ok, "vt") == (200, "1158201444")
    assert webhooks.handshake(ok | {"hub.verify_token": "nope"}, "vt")[0] == 403
    assert webhooks.handshake(ok | {"hub.mode": "unsubscribe"}, "vt")[0] == 403
    assert webhooks.handshake(ok, "")[0] == 403


def test_comment_becomes_event_once_and_retry_is_a_duplicate() -> None:
    store, sink = Store(), Sink()
    raw = body(comment("c1"))
    first = run(raw, store, sink)
    again = run(raw, store, sink)
    assert (first.stored, first.events) == (1, ["igpub.CommentReceived"])
    assert (again.stored, again.duplicates, again.events) == (0, 1, [])
    assert sink.events[0][1]["comment_id"] == "c1" and sink.events[0][1]["from"]["username"] == "fan"


def test_mention_and_mentions_field() -> None:
    store, sink = Store(), Sink()
    run(body(comment("c1", "hey @IGPUB_demo look")), store, sink)
    run(body({"media_id": "m2", "comment_id": "c9"}, field="mentions"), store, sink)
    assert [e for e, _ in sink.events] == ["igpub.MentionReceived", "igpub.MentionReceived"]


def test_own_comment_is_stored_marked_and_triggers_nothing() -> None:
    store, sink = Store(), Sink()
    out = run(body(comment("c1", author=ACCOUNT), comment("c2", author="99", from_=None)), store, sink)
    own_by_marker = body({**comment("c3"), "from": {"id": "6", "self_ig_scoped_id": "6", "username": "me"}})
    run(own_by_marker, store, sink)
    assert out.own == 1 and store.items[f"{ACCOUNT}#comments#c1"]["own"] is True
    assert store.items[f"{ACCOUNT}#comments#c3"]["own"] is True
    assert [d["comment_id"] for _, d in sink.events] == ["c2"]


def test_event_failure_is_retried_by_the_next_delivery() -> None:
    store, sink = Store(), Sink(fail=1)
    raw = body(comment("c1"))
    with pytest.raises(RuntimeError):  # the handler answers 500, so Meta delivers again
        run(raw, store, sink)
    assert sink.events == [] and store.items[f"{ACCOUNT}#comments#c1"]["event_sent"] is False
    run(raw, store, sink)  # Meta retries after our 500
    assert len(sink.events) == 1


def test_parse_tolerates_millis_numbers_and_flat_entries() -> None:
    raw = json.dumps({"object": "instagram", "entry": [
        {"id": 17841400000000001, "time": 1569262486134, "field": "comments", "value": comment("c1")},
        {"id": ACCOUNT, "time": 1, "messaging": [{"message": {}}]},
    ]}).encode()
    changes = webhooks.parse(raw)
    assert len(changes) == 1 and changes[0].account_id == ACCOUNT and changes[0].sent_at == 1569262486


def test_dashboard_test_payload_is_stored_without_event() -> None:
    store, sink = Store(), Sink()
    run(body({"from": {"id": "232323232", "username": "test"}, "media": {"id": "123123123"},
              "id": "17865799348089039", "text": "This is an example."}), store, sink)
    assert len(store.items) == 1 and sink.events == []
