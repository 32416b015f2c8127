"""The publish step's never-twice rules, offline (stub client and stores)."""

from __future__ import annotations

import json
from typing import Any

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import NetworkError
from igpub.instagram.models import ContainerStatus
from igpub.publishing import workflow
from igpub.repositories.posts import PostRecord

NOW = 1_800_000_000.0


class Posts:
    def __init__(self, rec: PostRecord) -> None:
        self.rec = rec

    def get(self, post_id: str) -> PostRecord:
        return self.rec

    def update(self, post_id: str, now: float, *, remove: tuple[str, ...] = (), **fields: Any) -> PostRecord:
        data = self.rec.model_dump() | fields
        for key in remove:
            data.pop(key, None)
        self.rec = PostRecord.model_validate(data)
        return self.rec

    def set_status(self, post_id: str, now: float, execution_id: str, status: str, *, remove: tuple[str, ...] = (),
                   unless: tuple[str, ...] = (), **fields: Any) -> PostRecord:
        assert self.rec.execution_id == execution_id and self.rec.status not in unless
        return self.update(post_id, now, remove=remove, status=status, **fields)

    def increment(self, post_id: str, counter: str, now: float) -> int:
        value = getattr(self.rec, counter) + 1
        self.update(post_id, now, **{counter: value})
        return int(value)

    def published_since(self, account_id: str, since: int) -> list[int]:
        return []

    def attempted_since(self, account_id: str, since: int) -> list[PostRecord]:
        return []


class Accounts:
    def __init__(self, account: Account) -> None:
        self.account = account

    def get(self, account_id: str) -> Account:
        return self.account


class Client:
    def __init__(self, status: str, publish_error: Exception | None = None) -> None:
        self.status = status
        self.publish_error = publish_error
        self.published: list[str] = []

    def get_container_status(self, cid: str, token: str, **_: Any) -> ContainerStatus:
        return ContainerStatus(id=cid, status_code=self.status)  # type: ignore[arg-type]

    def publish(self, ig: str, token: str, cid: str) -> str:
        if self.publish_error:
            raise self.publish_error
        self.published.append(cid)
        return "media-1"

    def get_media(self, media_id: str, token: str, **_: Any) -> Any:
        return type("M", (), {"permalink": "https://www.instagram.com/p/x/"})()


class Cipher:
    def decrypt(self, blob: bytes, *, account_id: str) -> str:
        return "token"


def deps(client: Client, *, attempted_at: float | None) -> tuple[workflow.Deps, Posts]:
    rec = PostRecord(
        post_id="p1", account_id="ig1", kind="image", status="processing", execution_id="e1",
        request=json.dumps({"account_id": "ig1", "kind": "image", "media": [{"url": "https://x/a.jpg"}]}),
        item_containers=["c1"], publish_attempted_at=attempted_at, created_at="t", updated_at="t",
        started_at=int(NOW - 30),
    )
    account = Account(account_id="ig1", username="u", token_issued_at=0, token_expires_at=int(NOW + 86400),
                      connected_at="t", updated_at="t", token_ciphertext=b"x")
    posts = Posts(rec)
    d = workflow.Deps(settings=Settings(publish_verify_delay_s=120, status_poll_interval_s=5), posts=posts,  # type: ignore[arg-type]
                      accounts=Accounts(account), cipher=Cipher(), client=client, media=None,  # type: ignore[arg-type]
                      clock=lambda: NOW)
    return d, posts


def test_first_attempt_publishes_without_a_status_read() -> None:
    client = Client("FINISHED")
    d, posts = deps(client, attempted_at=None)
    out = workflow.publish(d, "p1", "e1")
    assert out["status"] == "published" and client.published == ["c1"]
    assert posts.rec.publish_attempted_at == int(NOW)


def test_unknown_outcome_is_verified_not_repeated() -> None:
    client = Client("FINISHED", publish_error=NetworkError("connection dropped"))
    d, posts = deps(client, attempted_at=None)
    out = workflow.publish(d, "p1", "e1")
    assert out["status"] == "verify"
    assert posts.rec.publish_attempted_at == int(NOW)
    assert posts.rec.publish_unknown_at == int(NOW)


def test_the_delay_counts_from_when_the_outcome_became_unknown() -> None:
    # the attempt began 65 s ago and timed out 5 s ago: a late publish may still land
    client = Client("FINISHED")
    d, posts = deps(client, attempted_at=NOW - 65)
    posts.rec = posts.rec.model_copy(update={"publish_unknown_at": int(NOW - 5)})
    out = workflow.publish(d, "p1", "e1")
    assert out == {"status": "verify", "wait_s": 115}
    assert client.published == []


def test_finished_soon_after_an_unknown_attempt_waits_instead_of_publishing_again() -> None:
    client = Client("FINISHED")
    d, _ = deps(client, attempted_at=NOW - 80)  # ended (at the latest) 20 s ago
    out = workflow.publish(d, "p1", "e1")
    assert out == {"status": "verify", "wait_s": 100}
    assert client.published == []


def test_waiting_out_the_delay_costs_no_instagram_call() -> None:
    client = Client("FINISHED")
    d, posts = deps(client, attempted_at=NOW - 80)
    calls: list[str] = []
    original = client.get_container_status
    client.get_container_status = lambda *a, **k: calls.append("status") or original(*a, **k)  # type: ignore[method-assign]
    workflow.publish(d, "p1", "e1")
    assert calls == ["status"] and posts.rec.verified_at == int(NOW)
    out = workflow.publish(d, "p1", "e1")  # the state machine comes back before the delay is over
    assert out == {"status": "verify", "wait_s": 100}
    assert calls == ["status"] and client.published == []


def test_a_task_that_died_mid_publish_waits_from_the_end_of_the_call_timeout() -> None:
    # no publish_unknown_at: the Lambda died during the call; it may have run its full 60 s timeout
    client = Client("FINISHED")
    d, _ = deps(client, attempted_at=NOW - 61)
    out = workflow.publish(d, "p1", "e1")
    assert out == {"status": "verify", "wait_s": 119}
    assert client.published == []


def test_finished_long_after_the_attempt_publishes_again() -> None:
    client = Client("FINISHED")
    d, _ = deps(client, attempted_at=NOW - 181)
    assert workflow.publish(d, "p1", "e1")["status"] == "published"
    assert client.published == ["c1"]


def test_published_container_is_never_published_again() -> None:
    client = Client("PUBLISHED")
    d, posts = deps(client, attempted_at=NOW - 5)
    d.client.list_media = lambda *a, **k: []  # type: ignore[attr-defined]
    out = workflow.publish(d, "p1", "e1")
    assert out["status"] == "published" and client.published == []
    assert posts.rec.status == "published"
