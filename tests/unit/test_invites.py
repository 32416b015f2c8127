"""Invite rules, offline (an in-memory stand-in for the invites table)."""

from __future__ import annotations

from typing import Any

import pytest

from igpub.connect import invites
from igpub.repositories.invites import Invite, InviteRepository, digest
from igpub.repositories.states import OAuthState

NOW = 1_800_000_000


class MemoryInvites(InviteRepository):
    def __init__(self) -> None:
        super().__init__("memory")
        self.items: dict[str, dict[str, Any]] = {}

    def create(self, invite: str, *, flow: str, label: str, now: int, expires_at: int) -> Invite:
        record = Invite(digest(invite), flow, label, now, expires_at)
        assert record.invite_hash not in self.items
        self.items[record.invite_hash] = {"invite_hash": record.invite_hash, "flow": flow, "label": label,
                                          "created_at": now, "expires_at": expires_at}
        return record

    def get(self, invite: str) -> Invite | None:
        item = self.items.get(digest(invite)) if invite else None
        return Invite.from_item(item) if item else None

    def by_hash(self, invite_hash: str) -> Invite | None:
        item = self.items.get(invite_hash)
        return Invite.from_item(item) if item else None

    def claim(self, invite_hash: str, *, now: int) -> Invite | None:
        item = self.items.get(invite_hash)
        if item is None or "used_at" in item:
            return None
        item["used_at"] = now
        return Invite.from_item(item)

    def release(self, invite_hash: str, *, used_at: int) -> None:
        item = self.items[invite_hash]
        if item.get("used_at") == used_at and "account_id" not in item:
            del item["used_at"]

    def record_account(self, invite_hash: str, account_id: str) -> None:
        self.items[invite_hash]["account_id"] = account_id


@pytest.fixture
def repo() -> MemoryInvites:
    return MemoryInvites()


def refused(repo: MemoryInvites, invite: str | None, *, flow: str = "instagram", now: int = NOW) -> str:
    with pytest.raises(invites.InviteRefused) as info:
        invites.check(repo, invite, flow=flow, now=now)
    assert info.value.status == 403
    return info.value.reason


def test_an_issued_invite_is_valid_until_it_expires(repo: MemoryInvites) -> None:
    issued = invites.issue(repo, flow="instagram", label="  Client   A ", now=NOW, ttl_s=3600)
    assert issued.record.label == "Client A"
    assert issued.invite not in str(repo.items)  # only the digest is stored
    assert invites.check(repo, issued.invite, flow="instagram", now=NOW + 3599).invite_hash == digest(issued.invite)
    assert refused(repo, issued.invite, now=NOW + 3600) == "expired"


def test_refusals_say_why(repo: MemoryInvites) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    assert refused(repo, None) == "missing"
    assert refused(repo, "") == "missing"
    assert refused(repo, issued.invite + "x") == "unknown"
    assert refused(repo, issued.invite, flow="facebook") == "wrong_flow"
    repo.claim(digest(issued.invite), now=NOW)
    assert refused(repo, issued.invite) == "used"


def test_issue_checks_its_input(repo: MemoryInvites) -> None:
    with pytest.raises(ValueError, match="flow"):
        invites.issue(repo, flow="tiktok", now=NOW)
    with pytest.raises(ValueError, match="days"):
        invites.issue(repo, flow="instagram", now=NOW, ttl_s=91 * 86400)
    with pytest.raises(ValueError, match="label"):
        invites.issue(repo, flow="instagram", now=NOW, label="x" * 101)


def _state(invite_hash: str | None) -> OAuthState:
    return OAuthState("s", "instagram", NOW, NOW + 600, invite_hash)


def test_the_gate_spends_the_invite_once_and_records_the_account(repo: MemoryInvites) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    gate = invites.InviteGate(repo, now=NOW + 10)
    gate(_state(issued.record.invite_hash))
    gate.succeeded("1784")
    assert repo.items[issued.record.invite_hash]["account_id"] == "1784"
    with pytest.raises(invites.InviteRefused):  # a second session with the same invite
        invites.InviteGate(repo, now=NOW + 20)(_state(issued.record.invite_hash))
    gate.failed()  # too late to release: an account is connected with it
    assert "used_at" in repo.items[issued.record.invite_hash]


def test_a_failed_connection_releases_the_invite(repo: MemoryInvites) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    gate = invites.InviteGate(repo, now=NOW + 10)
    gate(_state(issued.record.invite_hash))
    gate.failed()
    assert invites.check(repo, issued.invite, flow="instagram", now=NOW + 11)


def test_a_session_without_an_invite_is_refused_at_the_callback(repo: MemoryInvites) -> None:
    with pytest.raises(invites.InviteRefused):
        invites.InviteGate(repo, now=NOW)(_state(None))
