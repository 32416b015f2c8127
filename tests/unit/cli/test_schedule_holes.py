"""Reschedule, cancel and a reused post id against moto (the posts table with template.yaml's keys, moto's
Step Functions): issue 18's holes 5 and 7 on the command line's side."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from igpub.repositories.posts import PostRecord, PostRepository, iso
from igpub_cli import api
from igpub_cli.deployment import Deployment
from tests.unit.dynamo import tables

REQUEST = {"account_id": "1784", "kind": "image", "media": [{"url": "https://example.com/a.jpg"}], "caption": "c"}


@dataclass(frozen=True)
class Dep(Deployment):
    fail_start: bool = False

    def client(self, service: str, *, config: Any = None) -> Any:
        real = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        if service == "stepfunctions" and self.fail_start:
            def refuse(**_: Any) -> Any:
                raise RuntimeError("Step Functions is unavailable")
            real.start_execution = refuse
        return real

    def table(self, output_key: str) -> Any:
        return boto3.resource("dynamodb", region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="x").Table(self.output(output_key))


@pytest.fixture
def dep() -> Iterator[Dep]:
    with tables("PostsTable"):
        sfn = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
        arn = sfn.create_state_machine(name="publish", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
        outputs = {"PostsTableName": "PostsTable", "PublishStateMachineArn": arn}
        yield Dep(stack="s", region="us-east-1", outputs=outputs)


def posts(dep: Deployment) -> PostRepository:
    return api.posts_repo(dep)


def scheduled_post(dep: Dep, post_id: str = "p1") -> PostRecord:
    """A post waiting for its publish_at under a running execution, as Prepare leaves it."""
    sfn = dep.client("stepfunctions")
    at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    request = {**REQUEST, "publish_at": at}
    arn = sfn.start_execution(stateMachineArn=dep.output("PublishStateMachineArn"), name=post_id,
                              input=json.dumps({"post_id": post_id, "request": request}))["executionArn"]
    now = time.time()
    rec = PostRecord(post_id=post_id, account_id="1784", kind="image",
                     request=json.dumps(request, sort_keys=True), status="scheduled", execution_id=arn,
                     created_at=iso(now), updated_at=iso(now), started_at=int(now))
    assert posts(dep).claim(rec)[1]
    return rec


# ---------------------------------------------------------------- 5: a reschedule whose new execution cannot start
def test_a_reschedule_that_cannot_start_its_execution_leaves_the_post_with_the_old_one(dep: Dep) -> None:
    before = scheduled_post(dep)
    failing = Dep(stack=dep.stack, region=dep.region, outputs=dep.outputs, fail_start=True)
    with pytest.raises(RuntimeError, match=r"not rescheduled|unavailable"):
        api.reschedule_post(failing, "p1", datetime.now(UTC) + timedelta(hours=5))
    after = posts(dep).get("p1")
    assert after is not None
    assert (after.status, after.execution_id, after.request) == ("scheduled", before.execution_id, before.request)
    sfn = dep.client("stepfunctions")
    assert sfn.describe_execution(executionArn=before.execution_id)["status"] == "RUNNING"  # not stopped
    # and a later reschedule works (a fresh execution name)
    moved = api.reschedule_post(dep, "p1", datetime.now(UTC) + timedelta(hours=6))
    assert posts(dep).get("p1").execution_id == moved.execution_arn != before.execution_id  # type: ignore[union-attr]
    assert sfn.describe_execution(executionArn=before.execution_id)["status"] == "ABORTED"


# ---------------------------------------------------------------- 7: nothing left that igpub cancel cannot clear
def test_cancel_clears_a_post_whose_execution_never_existed(dep: Dep) -> None:
    now = time.time()
    ghost = dep.output("PublishStateMachineArn").replace(":stateMachine:", ":execution:") + ":never-started"
    rec = PostRecord(post_id="p2", account_id="1784", kind="image", request=json.dumps(REQUEST), status="creating",
                     execution_id=ghost, created_at=iso(now), updated_at=iso(now), started_at=int(now))
    posts(dep).claim(rec)
    done = api.cancel_post(dep, "p2")
    assert done.status == "cancelled" and posts(dep).get("p2").status == "cancelled"  # type: ignore[union-attr]


def test_cancel_still_refuses_a_post_whose_publish_was_sent(dep: Dep) -> None:
    now = time.time()
    ghost = dep.output("PublishStateMachineArn").replace(":stateMachine:", ":execution:") + ":gone"
    rec = PostRecord(post_id="p3", account_id="1784", kind="image", request=json.dumps(REQUEST), status="processing",
                     execution_id=ghost, publish_attempted_at=int(now), created_at=iso(now), updated_at=iso(now),
                     started_at=int(now))
    posts(dep).claim(rec)
    with pytest.raises(api.RequestInvalid):
        api.cancel_post(dep, "p3")
    assert posts(dep).get("p3").status == "processing"  # type: ignore[union-attr]


def test_cancel_refuses_a_post_whose_execution_runs(dep: Dep) -> None:
    rec = scheduled_post(dep, "p4")
    posts(dep).claim_for_publishing("p4", rec.execution_id, time.time())  # creating, under a running execution
    with pytest.raises(api.RequestInvalid, match="has begun"):
        api.cancel_post(dep, "p4")


def test_reusing_a_post_id_after_a_reschedule_follows_the_execution_that_owns_it(dep: Dep) -> None:
    scheduled_post(dep, "p5")
    moved = api.reschedule_post(dep, "p5", datetime.now(UTC) + timedelta(hours=3))
    import igpub_cli.api.posts as posts_api

    original = posts_api.preflight
    posts_api.preflight = lambda *a, **k: None  # type: ignore[assignment]  # no accounts table here
    try:
        again = api.submit_post(dep, {**REQUEST, "client_post_id": "p5"})
    finally:
        posts_api.preflight = original
    assert again.execution_arn == moved.execution_arn
