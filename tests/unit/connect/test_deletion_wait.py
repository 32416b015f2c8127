"""The data deletion waits for the posts that may still change (igpub.connect.deletion._after_in_flight): an
unfinished post whose execution still runs gets up to IN_FLIGHT_WAIT_S to end; one whose execution no longer
runs will never change and is not waited for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from igpub.connect import deletion
from igpub.repositories import runtime


class Data:
    """posts_of as the posts table answers it; a post's status changes after a number of reads."""

    def __init__(self, posts: list[dict[str, Any]], ends_after_reads: dict[str, int] | None = None) -> None:
        self.posts = posts
        self.ends_after = ends_after_reads or {}
        self.reads = 0

    def posts_of(self, account_id: str) -> list[dict[str, Any]]:
        self.reads += 1
        for p in self.posts:
            if self.ends_after.get(p["post_id"], 10**9) <= self.reads:
                p["status"] = "failed"
        return [dict(p) for p in self.posts if p["account_id"] == account_id]


def world(data: Data, running: set[str] | None) -> tuple[deletion.Deps, list[float], list[str]]:
    clock = [1_000.0]
    stopped: list[str] = []
    deps = deletion.Deps(
        accounts=None, data=data, deletions=None,  # type: ignore[arg-type]
        stop_execution=lambda arn, cause: stopped.append(arn),
        execution_running=None if running is None else (lambda arn: arn in running),
        clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    return deps, clock, stopped


def post(post_id: str, status: str, execution: str | None) -> dict[str, Any]:
    return {"post_id": post_id, "account_id": "a1", "status": status, "execution_id": execution}


def test_a_post_whose_execution_no_longer_runs_is_not_waited_for() -> None:
    data = Data([post("p1", "processing", "arn:x:1"), post("p2", "published", "arn:x:2")])
    deps, clock, stopped = world(data, running=set())
    out = deletion._after_in_flight(deps, data.posts_of("a1"), ["a1"])
    assert clock[0] == 1_000.0  # no wait
    assert [p["post_id"] for p in out] == ["p1", "p2"]
    assert stopped == ["arn:x:1"]  # stopping an ended execution is harmless


def test_a_post_without_an_execution_is_not_waited_for() -> None:
    data = Data([post("p1", "creating", None)])
    deps, clock, stopped = world(data, running={"arn:x:1"})
    deletion._after_in_flight(deps, data.posts_of("a1"), ["a1"])
    assert clock[0] == 1_000.0 and stopped == []


def test_a_running_post_is_waited_for_until_it_ends() -> None:
    data = Data([post("p1", "processing", "arn:x:1"), post("p2", "creating", "arn:x:2")], {"p1": 4})
    deps, clock, stopped = world(data, running={"arn:x:1"})
    out = deletion._after_in_flight(deps, data.posts_of("a1"), ["a1"])
    assert clock[0] == 1_006.0  # three reads two seconds apart; p2's execution was not running
    assert {p["post_id"]: p["status"] for p in out} == {"p1": "failed", "p2": "creating"}
    assert stopped == ["arn:x:2"]


def test_a_post_that_runs_on_is_waited_for_at_most_the_limit_then_stopped() -> None:
    data = Data([post("p1", "scheduled", "arn:x:1")])
    deps, clock, stopped = world(data, running={"arn:x:1"})
    deletion._after_in_flight(deps, data.posts_of("a1"), ["a1"])
    assert clock[0] == 1_000.0 + deletion.IN_FLIGHT_WAIT_S
    assert stopped == ["arn:x:1"]


def test_without_a_way_to_read_executions_every_unfinished_post_is_waited_for() -> None:
    data = Data([post("p1", "processing", "arn:x:1")], {"p1": 3})
    deps, clock, stopped = world(data, running=None)
    out = deletion._after_in_flight(deps, data.posts_of("a1"), ["a1"])
    assert clock[0] == 1_004.0 and out[0]["status"] == "failed" and stopped == []


@pytest.mark.parametrize(("answer", "running"), [
    ({"status": "RUNNING"}, True),
    ({"status": "ABORTED"}, False),
    ({"status": "SUCCEEDED"}, False),
    ("ExecutionDoesNotExist", False),
    ("AccessDeniedException", False),  # not an execution of the publish state machine
    ("ThrottlingException", True),  # unknown now: waited for
])
def test_execution_running_reads_the_execution(
    answer: dict[str, str] | str, running: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:states:us-east-1:000000000000:execution:igpub-PublishStateMachine:p1"
    with Stubber(client) as stub:
        if isinstance(answer, str):
            stub.add_client_error("describe_execution", service_error_code=answer,
                                  expected_params={"executionArn": arn})
        else:
            stub.add_response("describe_execution", {
                "executionArn": arn, "stateMachineArn": arn, "startDate": datetime(2026, 1, 1, tzinfo=UTC), **answer,
            }, {"executionArn": arn})

        class Session:
            def client(self, name: str) -> object:
                assert name == "stepfunctions"
                return client

        monkeypatch.setattr(runtime.aws, "session", Session)
        assert runtime.execution_running(arn) is running
        stub.assert_no_pending_responses()
