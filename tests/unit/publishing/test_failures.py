"""igpub.publishing.failures, decision by decision (the bounds, the waits, the reasons' codes), against a posts
table in moto's DynamoDB: what the mutation run (make mutation) showed the scenario tests leave open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import AuthError, InvalidRequestError, RateLimitedError, TransientError
from igpub.instagram.models import ContainerStatus
from igpub.publishing import failures, workflow
from igpub.publishing.outcome import Status
from igpub.repositories.posts import PostRecord, PostRepository
from tests.unit.dynamo import tables

NOW = 1_800_000_000.0
EXEC = "arn:aws:states:us-east-1:0:execution:publish:a"


class Accounts:
    def __init__(self) -> None:
        self.marked: list[dict[str, Any]] = []
        self.account = Account(account_id="ig1", username="someone", token_issued_at=0, token_expires_at=2**31,
                               connected_at="t", updated_at="t")

    def get(self, account_id: str) -> Account | None:
        return self.account if account_id == "ig1" else None

    def mark_needs_reauth(self, account_id: str, **kwargs: Any) -> None:
        self.marked.append({"account_id": account_id, **kwargs})


@pytest.fixture
def deps() -> Iterator[workflow.Deps]:
    with tables("PostsTable") as t:
        posts = PostRepository("PostsTable", table=t["PostsTable"])
        yield workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(),  # type: ignore[arg-type]
                            cipher=None, client=None, media=None, clock=lambda: NOW)  # type: ignore[arg-type]


def record(deps: workflow.Deps, **fields: Any) -> PostRecord:
    rec = PostRecord(post_id="p1", account_id="ig1", kind="image", request="{}", status="processing",
                     execution_id=EXEC, created_at="t", updated_at="t", started_at=int(NOW), **fields)
    deps.posts.claim(rec)
    return rec


def test_transient_errors_wait_longer_each_time_up_to_a_minute_then_fail_after_eight(deps: workflow.Deps) -> None:
    rec = record(deps)
    exc = TransientError("flaky")
    waits = [failures.transient(deps, rec, exc, Status.VERIFY) for _ in range(8)]
    assert [w["wait_s"] for w in waits] == [10, 20, 30, 40, 50, 60, 60, 60]
    assert {w["status"] for w in waits} == {Status.VERIFY}
    out = failures.transient(deps, rec, exc, Status.VERIFY)
    assert out["status"] == Status.FAILED and out["code"] == "transient" and "after 8 retries" in out["reason"]


def test_error_outcome_routes_each_kind_of_error(deps: workflow.Deps) -> None:
    rec = record(deps)
    account = deps.accounts.get("ig1")
    assert account is not None
    limited = RateLimitedError("slow down", retry_after_s=77)
    assert failures.error_outcome(deps, rec, account, limited, retry_status=Status.RETRY_CREATE) == {
        "status": Status.RETRY_CREATE, "wait_s": 77}
    assert failures.error_outcome(deps, rec, account, limited, retry_status=Status.VERIFY) == {
        "status": Status.RATE_LIMITED, "wait_s": 77}
    auth = failures.error_outcome(deps, rec, account, AuthError("revoked", code=190), retry_status=Status.VERIFY)
    assert auth["status"] == Status.FAILED and auth["code"] == "needs_reauth"
    assert deps.accounts.marked and deps.accounts.marked[0]["account_id"] == "ig1"  # type: ignore[attr-defined]
    flaky = failures.error_outcome(deps, rec, account, TransientError("x"), retry_status=Status.RATE_LIMITED)
    assert flaky == {"status": Status.RATE_LIMITED, "wait_s": 10}
    bad = failures.error_outcome(deps, rec, account, InvalidRequestError("no", code=100), retry_status=Status.VERIFY)
    assert bad["status"] == Status.FAILED and bad["code"] == InvalidRequestError.kind


def test_an_expired_container_is_created_again_twice_then_fails(deps: workflow.Deps) -> None:
    rec = record(deps, item_containers=["c1"], ready_containers=["c1"], parent_container="c9",
                 publish_attempted_at=int(NOW - 10))
    for _ in range(2):
        assert failures.expired(deps, rec, recreate=True) == {"status": Status.RECREATE, "wait_s": 1}
        again = deps.posts.get("p1")
        assert again is not None and again.item_containers == [] and again.ready_containers == []
        assert again.parent_container is None and again.publish_attempted_at is None
    out = failures.expired(deps, rec, recreate=True)
    assert out["status"] == Status.FAILED and out["code"] == "expired"
    assert failures.expired(deps, rec)["code"] == "expired"  # while processing: a failure at once


def test_a_container_error_carries_the_subcodes_advice() -> None:
    out = failures.container_failure(ContainerStatus(id="c1", status_code="ERROR", status="Error: (2207026)"),
                                      "the image")
    assert out["code"] == "container_error" and "2207026" in out["reason"]
    assert failures.media_check_advice("Error (2207026)") != failures.media_check_advice("no subcode here")
    assert failures.media_check_advice("1234567x 123456") == failures.media_check_advice("")


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        ({"Error": "AwsTransientError", "Cause": json.dumps({"errorMessage": "AWS kept failing (GetItem)",
                                                             "errorType": "AwsTransientError"})},
         "aws_transient", "AWS kept failing (GetItem) in every retry"),
        ({"Error": "Runtime.HandlerError", "Cause": "AWS kept failing (PutItem: ThrottlingException)"},
         "aws_transient", "AWS kept failing (PutItem"),
        ({"Error": "KeyError", "Cause": json.dumps({"errorMessage": "'x'", "errorType": "KeyError"})},
         "internal", "unexpected error (KeyError): 'x'"),
        ({"Error": "States.Timeout", "Cause": "not json"}, "internal", "(States.Timeout): not json"),
        # ministack names every Lambda error Runtime.HandlerError: the type inside the Cause wins
        ({"Error": "Runtime.HandlerError", "Cause": json.dumps({"errorMessage": "boom", "errorType": "KeyError"})},
         "internal", "unexpected error (KeyError): boom"),
        ({"Error": "Runtime.HandlerError", "Cause": json.dumps({"errorMessage": "AWS kept failing (Query)",
                                                                "errorType": "AwsTransientError"})},
         "aws_transient", "AWS kept failing (Query) in every retry"),
    ],
)
def test_fail_reads_the_error_step_functions_caught(deps: workflow.Deps, error: dict[str, str], code: str,
                                                    words: str) -> None:
    record(deps)
    out = failures.fail(deps, "p1", None, error, EXEC)
    assert out["status"] == Status.FAILED and out["code"] == code and words in out["reason"]
    assert out["may_be_live"] is False
    rec = deps.posts.get("p1")
    assert rec is not None and rec.status == "failed" and rec.failure_code == code


def test_fail_without_a_reason_says_it_is_a_bug_or_unknown(deps: workflow.Deps) -> None:
    record(deps)
    assert failures.fail(deps, "p1", {"status": "weird"}, None, EXEC)["code"] == "internal"
    assert failures.fail(deps, "p1", None, None, EXEC)["code"] == "unknown"
    out = failures.fail(deps, "p1", {"status": "failed", "reason": "because"}, None, EXEC)
    assert out["code"] == "failed" and out["reason"] == "because"
    assert out["account_id"] == "ig1" and out["kind"] == "image"


def test_fail_after_a_publish_was_sent_says_the_post_may_be_live(deps: workflow.Deps) -> None:
    record(deps, publish_attempted_at=int(NOW - 60))
    out = failures.fail(deps, "p1", {"status": "failed", "reason": "Instagram kept failing. Try again later.",
                                     "code": "transient"}, None, EXEC)
    assert out["may_be_live"] is True and "may be live" in out["reason"]
    assert "again" not in out["reason"].lower().replace("publishing it anew", "")
    assert "https://www.instagram.com/someone/" in out["reason"]
    rec = deps.posts.get("p1")
    assert rec is not None and rec.status == "failed"


@pytest.mark.parametrize("code", ["container_error", "expired"])
def test_a_failure_that_proves_the_post_is_not_live_does_not_say_it_may_be(deps: workflow.Deps, code: str) -> None:
    record(deps, publish_attempted_at=int(NOW - 60))
    out = failures.fail(deps, "p1", {"status": "failed", "reason": "gone.", "code": code}, None, EXEC)
    assert out["may_be_live"] is False and out["reason"] == "gone."


def test_fail_changes_nothing_on_a_post_that_is_not_its_own_or_is_done(deps: workflow.Deps) -> None:
    record(deps)
    assert failures.fail(deps, "p1", {"reason": "x"}, None, EXEC + "-other")["status"] == Status.DUPLICATE
    deps.posts.update("p1", NOW, status="published", media_id="m1")
    assert failures.fail(deps, "p1", {"reason": "x"}, None, EXEC)["status"] == Status.PUBLISHED
    deps.posts.update("p1", NOW, status="cancelled")
    assert failures.fail(deps, "p1", {"reason": "x"}, None, EXEC)["status"] == Status.CANCELLED
    rec = deps.posts.get("p1")
    assert rec is not None and rec.status == "cancelled" and rec.failure_reason is None


def test_fail_before_any_record_records_one(deps: workflow.Deps) -> None:
    out = failures.fail(deps, "p9", {"reason": "no such account", "code": "no_account"}, None, EXEC)
    assert out == {"status": Status.FAILED, "reason": "no such account", "code": "no_account",
                   "account_id": None, "kind": None, "may_be_live": False}
    rec = deps.posts.get("p9")
    assert rec is not None and rec.status == "failed" and rec.execution_id == EXEC
    other = failures.fail(deps, "p9", {"reason": "x"}, None, EXEC + "-other")
    assert other["status"] == Status.DUPLICATE
