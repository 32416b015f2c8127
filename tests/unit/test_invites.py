"""Invite rules, offline: the real repository (its condition expressions) against moto's in-process
DynamoDB, with the invites table's key schema read from template.yaml (tests/unit/dynamo.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from igpub.connect import invites
from igpub.repositories.invites import InviteRepository, digest
from igpub.repositories.states import OAuthState
from tests.unit.dynamo import table_spec

NOW = 1_800_000_000


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """moto's DynamoDB, in this process, for the module (each test gets a table of its own)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "test")
        with mock_aws():
            yield boto3.resource("dynamodb", region_name="us-east-1")


@pytest.fixture
def repo(dynamodb: Any) -> InviteRepository:
    name = f"igpub-invites-{uuid.uuid4().hex[:8]}"
    return InviteRepository(name, table=dynamodb.create_table(TableName=name, **table_spec("InvitesTable")))


def stored(repo: InviteRepository, invite_hash: str) -> dict[str, Any]:
    return dict(repo.table.get_item(Key={"invite_hash": invite_hash}, ConsistentRead=True).get("Item") or {})


def refused(repo: InviteRepository, invite: str | None, *, flow: str = "instagram", now: int = NOW) -> str:
    with pytest.raises(invites.InviteRefused) as info:
        invites.check(repo, invite, flow=flow, now=now)
    assert info.value.status == 403
    return info.value.reason


def test_an_issued_invite_is_valid_until_it_expires(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", label="  Client   A ", now=NOW, ttl_s=3600)
    assert issued.record.label == "Client A"
    assert issued.invite not in str(repo.table.scan()["Items"])  # only the digest is stored
    assert invites.check(repo, issued.invite, flow="instagram", now=NOW + 3599).invite_hash == digest(issued.invite)
    assert refused(repo, issued.invite, now=NOW + 3600) == "expired"


def test_refusals_say_why(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    assert refused(repo, None) == "missing"
    assert refused(repo, "") == "missing"
    assert refused(repo, issued.invite + "x") == "unknown"
    assert refused(repo, issued.invite, flow="facebook") == "wrong_flow"
    repo.claim(digest(issued.invite), now=NOW)
    assert refused(repo, issued.invite) == "used"


def test_issue_checks_its_input(repo: InviteRepository) -> None:
    with pytest.raises(ValueError, match="flow"):
        invites.issue(repo, flow="tiktok", now=NOW)
    with pytest.raises(ValueError, match="days"):
        invites.issue(repo, flow="instagram", now=NOW, ttl_s=91 * 86400)
    with pytest.raises(ValueError, match="label"):
        invites.issue(repo, flow="instagram", now=NOW, label="x" * 101)


def _state(invite_hash: str | None) -> OAuthState:
    return OAuthState("s", "instagram", NOW, NOW + 600, invite_hash)


def test_the_gate_spends_the_invite_once_and_records_the_account(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    gate = invites.InviteGate(repo, now=NOW + 10)
    gate(_state(issued.record.invite_hash))
    gate.succeeded("1784")
    assert stored(repo, issued.record.invite_hash)["account_id"] == "1784"
    with pytest.raises(invites.InviteRefused):  # a second session with the same invite
        invites.InviteGate(repo, now=NOW + 20)(_state(issued.record.invite_hash))
    gate.failed()  # too late to release: an account is connected with it
    assert "used_at" in stored(repo, issued.record.invite_hash)


def test_a_failed_connection_releases_the_invite(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    gate = invites.InviteGate(repo, now=NOW + 10)
    gate(_state(issued.record.invite_hash))
    gate.failed()
    assert invites.check(repo, issued.invite, flow="instagram", now=NOW + 11)


def test_a_session_without_an_invite_is_refused_at_the_callback(repo: InviteRepository) -> None:
    with pytest.raises(invites.InviteRefused):
        invites.InviteGate(repo, now=NOW)(_state(None))


def test_of_two_claims_of_one_invite_one_wins(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    first = repo.claim(issued.record.invite_hash, now=NOW + 1)
    assert first is not None and first.used_at == NOW + 1
    assert repo.claim(issued.record.invite_hash, now=NOW + 2) is None
    assert stored(repo, issued.record.invite_hash)["used_at"] == NOW + 1  # the winner's claim stays
    assert repo.claim(digest("never-issued"), now=NOW) is None
    assert stored(repo, digest("never-issued")) == {}  # claiming an unknown invite creates nothing


def test_release_undoes_only_its_own_claim_and_never_after_an_account_connected(repo: InviteRepository) -> None:
    issued = invites.issue(repo, flow="instagram", now=NOW)
    h = issued.record.invite_hash
    assert repo.claim(h, now=NOW + 1)
    repo.release(h, used_at=NOW + 99)  # another session's claim: nothing happens
    assert stored(repo, h)["used_at"] == NOW + 1
    repo.release(h, used_at=NOW + 1)
    assert "used_at" not in stored(repo, h)
    assert repo.claim(h, now=NOW + 2)  # usable again
    repo.record_account(h, "1784")
    repo.release(h, used_at=NOW + 2)  # an account is connected with it: it stays spent
    assert stored(repo, h)["used_at"] == NOW + 2
    repo.release(digest("never-issued"), used_at=NOW)  # unknown: no error, nothing created
    assert stored(repo, digest("never-issued")) == {}


def test_an_invite_is_created_once(repo: InviteRepository) -> None:
    repo.create("the-invite", flow="instagram", label="", now=NOW, expires_at=NOW + 60)
    with pytest.raises(repo.table.meta.client.exceptions.ConditionalCheckFailedException):
        repo.create("the-invite", flow="facebook", label="", now=NOW, expires_at=NOW + 60)
    assert stored(repo, digest("the-invite"))["flow"] == "instagram"
