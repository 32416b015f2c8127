"""The Publish step does not call media_publish once it can see the account's deauthorization, whichever
moment the deauthorization lands at (Hypothesis draws it among every read and write the step makes).

The step runs offline against in-memory stand-ins that count every operation; the deauthorization flips
the stored account after k operations. Invariants: media_publish comes right after a (consistent) account
read that saw the account active, with no other operation between them; so a deauthorization recorded
before that read stops the publish, and the only moment it can land unseen is the gap between that read
and the request itself (README, Going Live)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.models import ContainerStatus
from igpub.publishing.deps import Deps
from igpub.publishing.publish import publish
from igpub.repositories.posts import PostRecord


class Clock:
    def __init__(self, deauth_at: int) -> None:
        self.ops: list[str] = []
        self.deauth_at = deauth_at

    def tick(self, name: str) -> None:
        self.ops.append(name)

    @property
    def deauthorized(self) -> bool:
        return len(self.ops) >= self.deauth_at


class Accounts:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def get(self, account_id: str) -> Account:
        status = "deauthorized" if self.clock.deauthorized else "active"  # the flip lands between operations
        self.clock.tick("accounts.get")
        return Account(account_id=account_id, username="ana", status=status, token_issued_at=0,
                       token_expires_at=10**10, token_version=1, connected_at="", updated_at="",
                       token_ciphertext=b"" if status == "deauthorized" else b"ct",
                       deauthorized_at="2026-12-06T09:00:00+00:00" if status == "deauthorized" else None)

    def mark_needs_reauth(self, *args: Any, **kwargs: Any) -> None:
        self.clock.tick("accounts.mark_needs_reauth")


class Posts:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rec = PostRecord(
            post_id="p1", account_id="17841400000000001", kind="image", status="processing", execution_id="x",
            request='{"account_id": "17841400000000001", "kind": "image", "media": [{"url": "https://e.test/a.jpg"}]}',
            item_containers=["c1"], ready_containers=["c1"], created_at="", updated_at="", started_at=0,
        )

    def get(self, post_id: str) -> PostRecord:
        self.clock.tick("posts.get")
        return self.rec

    def update(self, post_id: str, now: float, *, remove: tuple[str, ...] = (), **fields: Any) -> PostRecord:
        self.clock.tick("posts.update")
        self.rec = self.rec.model_copy(update=fields)
        return self.rec

    def set_status(self, post_id: str, now: float, execution_id: str, status: str, *,
                   remove: tuple[str, ...] = (), unless: tuple[str, ...] = (), **fields: Any) -> PostRecord:
        self.clock.tick("posts.set_status")
        self.rec = self.rec.model_copy(update={"status": status, **fields})
        return self.rec

    def increment(self, post_id: str, counter: str, now: float) -> int:
        self.clock.tick("posts.increment")
        return 1


class Client:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.published_at_op: int | None = None

    def get_container_status(self, container_id: str, token: str, **kwargs: Any) -> ContainerStatus:
        self.clock.tick("client.status")
        return ContainerStatus.model_validate({"id": container_id, "status_code": "FINISHED"})

    def publish(self, ig_user_id: str, token: str, creation_id: str) -> str:
        self.clock.tick("client.publish")
        self.published_at_op = len(self.clock.ops)
        return "m1"

    def get_media(self, media_id: str, token: str, **kwargs: Any) -> Any:
        self.clock.tick("client.get_media")
        return type("M", (), {"permalink": "https://www.instagram.com/p/x/"})()


class Cipher:
    def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str = "instagram") -> str:
        return "token"


@settings(max_examples=60, deadline=None)
@given(deauth_at=st.integers(min_value=0, max_value=12))
def test_no_media_publish_after_the_deauthorization_is_recorded(deauth_at: int) -> None:
    clock = Clock(deauth_at)
    client = Client(clock)
    deps = Deps(settings=Settings(), posts=Posts(clock), accounts=Accounts(clock), cipher=Cipher(),  # type: ignore[arg-type]
                client=client, media=None, clock=lambda: 1000.0)  # type: ignore[arg-type]
    outcome = publish(deps, "p1", "x")
    if client.published_at_op is not None:
        n = client.published_at_op  # 1-based: the n-th operation
        assert clock.ops[n - 2] == "accounts.get", clock.ops  # the read right before the call
        assert n - 1 <= deauth_at, clock.ops  # that read came before the flip (it saw the account active)
        assert outcome["status"] == "published"
    else:
        assert outcome["status"] == "failed" and outcome.get("code") == "deauthorized", outcome
        assert deauth_at < len(clock.ops)  # refused by an account read made after the flip


def test_the_token_cache_tells_a_reconnected_account_from_its_deleted_self() -> None:
    """After a data deletion the account's record starts afresh (token_version 1 again): the warm
    publisher's decrypted-token cache must not hand out the old token."""
    decrypted: list[bytes] = []

    class Recording:
        def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str = "instagram") -> str:
            decrypted.append(ciphertext)
            return ciphertext.decode()

    deps = Deps(settings=Settings(), posts=None, accounts=None, cipher=Recording(), client=None,  # type: ignore[arg-type]
                media=None)  # type: ignore[arg-type]
    base = {"account_id": "17841400000000001", "username": "ana", "token_issued_at": 0, "token_expires_at": 1,
            "token_version": 1, "connected_at": "", "updated_at": ""}
    before = Account(**base, token_ciphertext=b"old-token")  # type: ignore[arg-type]
    after = Account(**base, token_ciphertext=b"new-token")  # type: ignore[arg-type]
    assert deps.token(before) == "old-token" and deps.token(before) == "old-token"
    assert deps.token(after) == "new-token"
    assert decrypted == [b"old-token", b"new-token"]  # once per token, not per call
