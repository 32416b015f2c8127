"""The CreateContainers and CheckContainers tasks (igpub.publishing.polling) decision by decision: a scripted
Instagram client, the posts table in moto's DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import InstagramError, RateLimitedError
from igpub.instagram.models import Container, ContainerStatus
from igpub.publishing import workflow
from igpub.publishing.outcome import Status
from igpub.repositories.posts import PostRecord, PostRepository
from tests.unit.dynamo import tables

NOW = 1_800_000_000.0
A, B = "arn:exec:a", "arn:exec:b"


class Client:
    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.created: list[dict[str, Any]] = []
        self.fail_create: InstagramError | None = None
        self.reads: list[str] = []

    def create_container(self, ig: str, token: str, params: Any) -> Container:
        if self.fail_create is not None:
            raise self.fail_create
        self.created.append(dict(params))
        cid = f"c{len(self.created)}"
        self.status.setdefault(cid, "IN_PROGRESS")
        return Container(id=cid)

    def get_container_status(self, cid: str, token: str, **_: Any) -> ContainerStatus:
        self.reads.append(cid)
        code = self.status.get(cid, "IN_PROGRESS")
        return ContainerStatus(id=cid, status_code=code, status="Error: (2207026)" if code == "ERROR" else None)  # type: ignore[arg-type]


class Accounts:
    def __init__(self, account: Account | None) -> None:
        self.account = account

    def get(self, account_id: str) -> Account | None:
        return self.account


class Cipher:
    def decrypt(self, blob: bytes, *, account_id: str) -> str:
        return "token"


def _account(status: str = "active") -> Account:
    return Account(account_id="ig1", username="someone", token_issued_at=0, token_expires_at=2**31,
                   connected_at="t", updated_at="t", status=status)  # type: ignore[arg-type]


@pytest.fixture
def posts() -> Iterator[PostRepository]:
    with tables("PostsTable") as t:
        yield PostRepository("PostsTable", table=t["PostsTable"])


def world(posts: PostRepository, *, kind: str = "image", status: str = "creating", account: Account | None = None,
          missing_account: bool = False, **fields: Any) -> tuple[workflow.Deps, Client]:
    media = [{"url": "https://cdn.example.com/a.jpg"}]
    if kind == "carousel":
        media = [{"url": "https://cdn.example.com/a.jpg"}, {"url": "https://cdn.example.com/b.jpg"}]
    req = {"account_id": "ig1", "kind": kind, "media": media, "caption": "hi"}
    posts.claim(PostRecord(post_id="p1", account_id="ig1", kind=kind, request=json.dumps(req), caption="hi",
                           status=status, execution_id=A, created_at="t", updated_at="t",  # type: ignore[arg-type]
                           started_at=int(NOW), **fields))
    client = Client()
    deps = workflow.Deps(settings=Settings(max_status_checks=3, status_poll_interval_s=7), posts=posts,
                         accounts=Accounts(None if missing_account else account or _account()),  # type: ignore[arg-type]
                         cipher=Cipher(), client=client, media=None, clock=lambda: NOW)  # type: ignore[arg-type]
    return deps, client


def test_create_makes_the_container_and_checks_it_once(posts: PostRepository) -> None:
    deps, client = world(posts)
    client.status["c1"] = "FINISHED"
    assert workflow.create(deps, "p1", A) == {"status": Status.FINISHED, "checks": 1}
    rec = posts.get("p1")
    assert rec is not None and rec.status == "processing" and rec.item_containers == ["c1"]
    assert rec.ready_containers == ["c1"] and len(client.created) == 1 and client.created[0]["caption"] == "hi"


def test_still_processing_waits_the_poll_interval_then_times_out(posts: PostRepository) -> None:
    deps, client = world(posts)
    assert workflow.create(deps, "p1", A) == {"status": Status.IN_PROGRESS, "wait_s": 7, "checks": 1}
    assert workflow.check(deps, "p1", A) == {"status": Status.IN_PROGRESS, "wait_s": 7, "checks": 2}
    out = workflow.check(deps, "p1", A)
    assert out["status"] == Status.FAILED and out["code"] == "timeout" and "3 status checks (about 21 s)" in out[
        "reason"]
    client.status["c1"] = "FINISHED"
    assert workflow.check(deps, "p1", A)["status"] == Status.FINISHED  # done beats the bound


def test_a_retried_create_resumes_where_it_stopped(posts: PostRepository) -> None:
    deps, client = world(posts, kind="carousel", item_containers=["c0"])
    client.status.update({"c0": "FINISHED", "c1": "FINISHED", "c2": "IN_PROGRESS"})
    out = workflow.create(deps, "p1", A)
    assert len(client.created) == 2  # the second item, then the parent
    assert client.created[0].get("is_carousel_item") in (True, "true")
    rec = posts.get("p1")
    assert rec is not None and rec.item_containers == ["c0", "c1"] and rec.parent_container == "c2"
    assert out == {"status": Status.IN_PROGRESS, "wait_s": 7, "checks": 1}
    client.status["c2"] = "PUBLISHED"
    assert workflow.check(deps, "p1", A)["status"] == Status.FINISHED
    assert len(client.created) == 2  # the parent is made once
    assert client.reads.count("c0") == 1  # a ready item is not read again


def test_a_carousel_waits_for_every_item_before_its_parent(posts: PostRepository) -> None:
    deps, client = world(posts, kind="carousel")
    client.status.update({"c1": "FINISHED"})
    out = workflow.create(deps, "p1", A)
    assert out["status"] == Status.IN_PROGRESS and len(client.created) == 2
    rec = posts.get("p1")
    assert rec is not None and rec.ready_containers == ["c1"] and rec.parent_container is None


@pytest.mark.parametrize(("code", "which", "expect"), [
    ("ERROR", "c2", "item 2 of the carousel"), ("ERROR", "c3", "the carousel"),
    ("EXPIRED", "c1", "expired"), ("EXPIRED", "c3", "expired"),
])
def test_an_item_or_parent_in_error_or_expired_fails_the_post(posts: PostRepository, code: str, which: str,
                                                              expect: str) -> None:
    deps, client = world(posts, kind="carousel")
    client.status.update({"c1": "FINISHED", "c2": "FINISHED", "c3": "FINISHED"})
    client.status[which] = code
    out = workflow.create(deps, "p1", A)
    assert out["status"] == Status.FAILED and expect in out["reason"]
    assert out["code"] == ("container_error" if code == "ERROR" else "expired")


def test_create_errors_retry_the_create(posts: PostRepository) -> None:
    deps, client = world(posts)
    client.fail_create = RateLimitedError("slow", retry_after_s=42)
    assert workflow.create(deps, "p1", A) == {"status": Status.RETRY_CREATE, "wait_s": 42}
    rec = posts.get("p1")
    assert rec is not None and rec.status == "creating"


def test_a_check_error_is_rate_limited_on_the_check(posts: PostRepository) -> None:
    deps, client = world(posts, status="processing", item_containers=["c1"])

    def boom(*a: Any, **k: Any) -> ContainerStatus:
        raise RateLimitedError("slow", retry_after_s=30)

    client.get_container_status = boom  # type: ignore[method-assign]
    assert workflow.check(deps, "p1", A) == {"status": Status.RATE_LIMITED, "wait_s": 30}


def test_create_claims_a_scheduled_post(posts: PostRepository) -> None:
    deps, client = world(posts, status="scheduled")
    client.status["c1"] = "FINISHED"
    assert workflow.create(deps, "p1", A)["status"] == Status.FINISHED
    rec = posts.get("p1")
    assert rec is not None and rec.status == "processing"  # claimed: scheduled -> creating -> processing
    assert workflow.create(deps, "p1", B)["status"] == Status.RESCHEDULED


def test_create_of_a_cancelled_or_moved_post_sends_nothing(posts: PostRepository) -> None:
    deps, client = world(posts, status="cancelled")
    assert workflow.create(deps, "p1", A)["status"] == Status.CANCELLED
    posts.update("p1", NOW, status="scheduled", execution_id=B)
    out = workflow.create(deps, "p1", A)
    assert out["status"] == Status.RESCHEDULED and B in out["reason"]
    assert client.created == []


def test_create_again_after_the_post_ended(posts: PostRepository) -> None:
    deps, client = world(posts, status="published")
    assert workflow.create(deps, "p1", A) == {"status": Status.FINISHED}
    assert workflow.create(deps, "p1", B) == {"status": Status.FINISHED}
    posts.update("p1", NOW, status="failed", failure_reason="because")
    assert workflow.create(deps, "p1", A) == {"status": Status.FAILED, "reason": "because", "code": "failed"}
    assert client.created == []


def test_check_of_another_executions_post_changes_nothing(posts: PostRepository) -> None:
    deps, client = world(posts, status="processing", item_containers=["c1"])
    assert workflow.check(deps, "p1", B)["status"] == Status.DUPLICATE
    posts.update("p1", NOW, status="cancelled")
    assert workflow.check(deps, "p1", A)["status"] == Status.CANCELLED
    assert workflow.check(deps, "p1", B)["status"] == Status.DUPLICATE
    assert client.reads == []


@pytest.mark.parametrize("step", ["create", "check"])
def test_an_account_gone_or_revoked_fails(posts: PostRepository, step: str) -> None:
    deps, _ = world(posts, status="processing", missing_account=True)
    assert getattr(workflow, step)(deps, "p1", A)["code"] == "no_account"
    deps.accounts = Accounts(_account("needs_reauth"))  # type: ignore[assignment]
    assert getattr(workflow, step)(deps, "p1", A)["code"] == "needs_reauth"
