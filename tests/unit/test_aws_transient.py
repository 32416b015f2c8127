"""Transient AWS errors: which botocore errors are transient, and the reason a post fails with when AWS kept
failing through every retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from igpub.repositories.aws import TRANSIENT_AWS_CODES, AwsTransientError, transient_aws_error


def client_error(code: str, status: int = 400, op: str = "PutItem", **extra: Any) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    response.update(extra)
    return ClientError(response, op)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", sorted(TRANSIENT_AWS_CODES))
def test_transient_codes(code: str) -> None:
    assert transient_aws_error(client_error(code)) == f"PutItem: {code}"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_is_transient(status: int) -> None:
    assert transient_aws_error(client_error("Whatever", status, "Decrypt")) == "Decrypt: Whatever"


@pytest.mark.parametrize(
    "code",
    ["ConditionalCheckFailedException", "AccessDeniedException", "ResourceNotFoundException", "ValidationException",
     "InvalidCiphertextException", "NoSuchKey", "IncorrectKeyException"],
)
def test_permanent_codes(code: str) -> None:
    assert transient_aws_error(client_error(code)) is None


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="http://127.0.0.1:4566/"),
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:4566/"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/"),
        ConnectionClosedError(endpoint_url="http://127.0.0.1:4566/"),
    ],
)
def test_network_errors_are_transient(exc: Exception) -> None:
    found = transient_aws_error(exc)
    assert found is not None and found.startswith(type(exc).__name__)


def test_transaction_cancelled_by_throttling_only() -> None:
    throttled = client_error(
        "TransactionCanceledException", CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]
    )
    conflict = client_error("TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}])
    condition = client_error(
        "TransactionCanceledException", CancellationReasons=[{"Code": "ConditionalCheckFailed"}]
    )
    assert transient_aws_error(throttled) is not None
    assert transient_aws_error(conflict) is not None
    assert transient_aws_error(condition) is None


def test_found_through_wrapping_exceptions() -> None:
    class Wrapper(Exception):
        pass

    try:
        try:
            raise client_error("ThrottlingException", op="Decrypt")
        except ClientError as inner:
            raise Wrapper("powertools wrapped it") from inner
    except Wrapper as outer:
        assert transient_aws_error(outer) == "Decrypt: ThrottlingException"
    try:
        try:
            raise client_error("AccessDeniedException", op="Decrypt")
        except ClientError:
            raise Wrapper("implicit context") from None
    except Wrapper as outer:
        assert transient_aws_error(outer) is None  # `from None`: nothing to look through
    assert transient_aws_error(KeyError("x")) is None


# ------------------------------------------------------------------ the reason a post fails with


class Posts:
    def __init__(self, attempted: int | None = None) -> None:
        from igpub.repositories.posts import PostRecord

        self.rec = PostRecord(post_id="p1", account_id="a", kind="image", request="{}", status="creating",
                              execution_id="e", created_at="x", updated_at="x", started_at=1,
                              publish_attempted_at=attempted)
        self.updates: list[dict[str, Any]] = []

    def get(self, post_id: str) -> Any:
        return self.rec

    def update(self, post_id: str, now: float, **fields: Any) -> Any:
        self.updates.append(fields)
        return self.rec

    def set_status(self, post_id: str, now: float, execution_id: str, status: str, *, remove: tuple[str, ...] = (),
                   unless: tuple[str, ...] = (), **fields: Any) -> Any:
        assert execution_id == self.rec.execution_id and self.rec.status not in unless
        return self.update(post_id, now, status=status, **fields)


class Accounts:
    def get(self, account_id: str) -> None:
        return None


def _fail(error: dict[str, Any], attempted: int | None = None) -> tuple[dict[str, Any], Posts]:
    from igpub.config import Settings
    from igpub.publishing import workflow

    posts = Posts(attempted)
    deps = workflow.Deps(settings=Settings(), posts=posts, accounts=Accounts(), cipher=None, client=None,  # type: ignore[arg-type]
                         media=None, publish_guard=None, clock=lambda: 1.0)  # type: ignore[arg-type]
    return workflow.fail(deps, "p1", None, error, "e"), posts


@pytest.mark.parametrize(
    "error",
    [
        # on AWS: Error is the exception's name
        {"Error": "AwsTransientError", "Cause": json.dumps(
            {"errorType": "AwsTransientError", "errorMessage": "AWS kept failing (PutItem: ThrottlingException)"})},
        # in the emulator: every Lambda error is Runtime.HandlerError, the cause still names the type
        {"Error": "Runtime.HandlerError", "Cause": json.dumps(
            {"errorType": "AwsTransientError", "errorMessage": "AWS kept failing (PutItem: ThrottlingException)"})},
        {"Error": "Runtime.HandlerError", "Cause": json.dumps(
            {"errorType": "Runtime.HandlerError", "errorMessage": "AWS kept failing (PutItem: ThrottlingException)"})},
    ],
)
def test_aws_failure_reason_is_actionable(error: dict[str, Any]) -> None:
    out, posts = _fail(error)
    assert out["code"] == "aws_transient"
    assert out["reason"].startswith("AWS kept failing (PutItem: ThrottlingException) in every retry igpub made.")
    assert out["reason"].endswith("post again in a few minutes.")
    assert posts.updates[0]["failure_code"] == "aws_transient"


def test_aws_failure_after_a_publish_attempt_says_to_check_first() -> None:
    error = {"Error": "AwsTransientError", "Cause": json.dumps({"errorMessage": "AWS kept failing (x)"})}
    out, _ = _fail(error, attempted=5)
    assert out["reason"].startswith("AWS kept failing (x) in every retry igpub made. AWS was throttling")
    assert "could not confirm the outcome: the post may be live" in out["reason"] and out["may_be_live"] is True
    assert "again" not in out["reason"]


def test_other_errors_stay_internal() -> None:
    out, _ = _fail({"Error": "KeyError", "Cause": json.dumps({"errorType": "KeyError", "errorMessage": "'x'"})})
    assert out["code"] == "internal" and out["reason"].startswith("igpub hit an unexpected error (KeyError): 'x'.")


def test_the_exception_is_named_for_the_state_machine() -> None:
    assert AwsTransientError.__name__ == "AwsTransientError"  # statemachine/publish.asl.json names it
    asl = json.loads(open("statemachine/publish.asl.json").read())
    for name in ("Prepare", "CreateContainers", "CheckContainers", "Publish"):
        first = asl["States"][name]["Retry"][0]
        assert first["ErrorEquals"] == ["AwsTransientError", "Runtime.HandlerError"], name
        assert first["MaxAttempts"] >= 5 and first["BackoffRate"] > 1
