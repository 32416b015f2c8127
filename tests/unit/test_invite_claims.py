"""Invites against the invites table's real conditions (moto's DynamoDB, template.yaml's keys): an expired
invite cannot be spent, and once the account is saved a later failure no longer releases the invite."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from igpub.accounts import Account
from igpub.config import Settings
from igpub.connect import invites, oauth
from igpub.repositories.invites import InviteRepository, digest
from igpub.repositories.states import OAuthState
from tests.unit.dynamo import tables

NOW = 1_800_000_000


@pytest.fixture
def repo() -> Iterator[InviteRepository]:
    with tables("InvitesTable") as t:
        yield InviteRepository("InvitesTable", table=t["InvitesTable"])


def test_an_invite_cannot_be_spent_after_it_expired(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW, ttl_s=120)
    # the sign-in started while the invite was valid (its OAuth state lives 10 minutes); the callback comes late
    assert invites.check(repo, issued.invite, flow="instagram", now=NOW + 100) is not None
    with pytest.raises(invites.InviteRefused) as refused:
        invites.claim(repo, digest(issued.invite), now=NOW + 121)
    assert refused.value.reason == "expired"
    assert repo.by_hash(digest(issued.invite)).used_at is None  # type: ignore[union-attr]
    assert invites.claim(repo, digest(issued.invite), now=NOW + 119).used_at == NOW + 119  # in time: it works


class States:
    def __init__(self, invite_hash: str) -> None:
        self.state = OAuthState("s1", "instagram", NOW, NOW + 600, invite_hash=invite_hash, features=("webhooks",))

    def consume(self, state: str) -> OAuthState | None:
        return self.state if state == "s1" else None


class Client:
    """Instagram's answers for a connection; the webhooks subscription after the save breaks unexpectedly."""

    def exchange_code(self, code: str, **_: Any) -> Any:
        return SimpleNamespace(access_token=SecretStr("short"), user_id="1784", permissions=[])

    def exchange_long_lived(self, token: str, **_: Any) -> Any:
        return SimpleNamespace(access_token=SecretStr("long"), expires_in=5_184_000)

    def get_me(self, token: str) -> Any:
        return SimpleNamespace(user_id="1784", username="shop", account_type="BUSINESS", id="app-1")

    def subscribe_app(self, *_: Any) -> None:
        raise RuntimeError("connection reset while subscribing")


class Accounts:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def get(self, account_id: str) -> Account | None:
        return None  # a first connection

    def save_connection(self, **kw: Any) -> Account:
        self.saved.append(kw["account_id"])
        return Account(account_id=kw["account_id"], username=kw["username"], token_issued_at=NOW,
                       token_expires_at=kw["expires_at"], connected_at="t", updated_at="t", token_version=1)


class Cipher:
    def encrypt(self, token: str, *, account_id: str) -> bytes:
        return b"x"


def test_a_failure_after_the_account_was_saved_keeps_the_invite_spent(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    accounts = Accounts()
    gate = invites.InviteGate(repo, now=NOW + 5)
    # what functions/oauth/app.py's callback does: the gate claims after the state, releases on any failure
    with pytest.raises(RuntimeError):
        try:
            oauth.complete_callback(
                Settings(), {"state": "s1", "code": "c"}, states=States(digest(issued.invite)),  # type: ignore[arg-type]
                client=Client(), accounts=accounts, cipher=Cipher(), app_secret=lambda: "secret",  # type: ignore[arg-type]
                redirect_uri="https://x/cb", now=NOW + 5, after_state=gate, after_save=gate.succeeded,
            )
        except Exception:
            gate.failed()
            raise
    assert accounts.saved == ["1784"]  # connected
    spent = repo.by_hash(digest(issued.invite))
    assert spent is not None and spent.used_at == NOW + 5 and spent.account_id == "1784"
    with pytest.raises(invites.InviteRefused, match="already used"):  # the link does not connect a second account
        invites.check(repo, issued.invite, flow="instagram", now=NOW + 10)
