"""Bad input is refused before anything starts (issue 13): by the CLI (one message, exit code 2) and by
igpub_cli.api (RequestInvalid), with no post record and no execution. The state machine still checks
for callers that start executions directly."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.publishing.errors import RequestInvalid
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from igpub_cli.main import main


def executions(dep: Deployment) -> set[str]:
    sfn = dep.client("stepfunctions")
    arns: set[str] = set()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=dep.output("PublishStateMachineArn")):
        arns.update(e["executionArn"] for e in page["executions"])
    return arns


def post_ids(dep: Deployment) -> set[str]:
    return {p.post_id for p in api.list_posts(dep, limit=100_000)}


@pytest.fixture
def nothing_started(dep: Deployment, fake: FakeInstagram) -> Callable[[], None]:
    """Call at the end of a test: no execution started, no post recorded, no Instagram call since the start."""
    before_runs, before_posts = executions(dep), post_ids(dep)
    fake.clear_calls()

    def check() -> None:
        assert executions(dep) == before_runs
        assert post_ids(dep) == before_posts
        assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == []

    return check


def image(fake: FakeInstagram) -> list[str]:
    return ["--url", fake.cdn("image.jpg", w=1080, h=1080)]


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    assert captured.err.count("igpub: refused") == 1, captured.err
    return captured.err


def test_unknown_account_is_refused(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None],
) -> None:
    err = refused(capsys, ["post", "--account", "999000111", *image(fake)])
    assert "account 999000111 is not connected" in err and account.account_id in err
    with pytest.raises(RequestInvalid, match="is not connected"):
        api.submit_post(dep, {"account_id": "999000111", "kind": "image", "media": [{"url": image(fake)[1]}]})
    nothing_started()


def test_account_that_needs_reauthorisation_is_refused(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None],
) -> None:
    dep.client("dynamodb").update_item(
        TableName=dep.output("AccountsTableName"), Key={"account_id": {"S": account.account_id}},
        UpdateExpression="SET #s = :s, reauth_reason = :r", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "needs_reauth"}, ":r": {"S": "the token expired"}},
    )
    err = refused(capsys, ["post", "--account", account.account_id, *image(fake)])
    assert "needs_reauth" in err and "the token expired" in err and "reconnect" in err
    nothing_started()


def test_unknown_hashtag_pool_is_refused(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None],
) -> None:
    err = refused(capsys, ["post", "--account", account.account_id, *image(fake), "--hashtag-pool", "nope"])
    assert "hashtag pool 'nope' does not exist" in err and "igpub hashtags add nope" in err
    nothing_started()


def test_missing_local_file_is_refused_before_anything_is_uploaded(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None], tmp_path: Path,
) -> None:
    s3 = dep.client("s3")
    before = s3.list_objects_v2(Bucket=dep.output("MediaBucketName")).get("KeyCount", 0)
    err = refused(capsys, ["post", "--account", account.account_id, "--kind", "carousel",
                           *image(fake), "--file", str(tmp_path / "missing.jpg")])
    assert f"{tmp_path / 'missing.jpg'}: no such file" in err
    err = refused(capsys, ["post", "--request", str(tmp_path / "request.json")])
    assert "request.json: no such file" in err
    with pytest.raises(RequestInvalid, match="no such file"):
        api.upload_media(dep, tmp_path / "missing.jpg", prefix="uploads/x")
    assert s3.list_objects_v2(Bucket=dep.output("MediaBucketName")).get("KeyCount", 0) == before
    nothing_started()


def test_publish_at_in_the_past_is_refused_beyond_the_tolerance(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None],
) -> None:
    weeks_ago = (datetime.now(UTC) - timedelta(days=21)).isoformat()
    err = refused(capsys, ["post", "--account", account.account_id, *image(fake), "--publish-at", weeks_ago])
    assert "21 days in the past" in err and "at most 5 minutes back" in err
    request = {"account_id": account.account_id, "kind": "image", "media": [{"url": image(fake)[1]}],
               "publish_at": (datetime.now(UTC) - timedelta(minutes=6)).isoformat()}
    with pytest.raises(RequestInvalid, match="in the past"):
        api.submit_post(dep, request)
    nothing_started()


def test_plain_http_media_off_the_loopback_host_is_refused(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str],
    nothing_started: Callable[[], None],
) -> None:
    err = refused(capsys, ["post", "--account", account.account_id, "--url", "http://cdn.example.com/a.jpg"])
    assert "must use https" in err
    nothing_started()


def _start_directly(dep: Deployment, request: dict[str, Any]) -> api.Submission:
    post_id = uuid.uuid4().hex
    arn = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=post_id,
        input=json.dumps({"post_id": post_id, "request": request}),
    )["executionArn"]
    return api.Submission(post_id=post_id, execution_arn=arn)


@pytest.mark.parametrize("what", ["past", "http"])
def test_the_state_machine_checks_callers_that_start_it_directly(
    dep: Deployment, fake: FakeInstagram, account: Account, what: str
) -> None:
    request: dict[str, Any] = {"account_id": account.account_id, "kind": "image",
                               "media": [{"url": image(fake)[1]}]}
    if what == "past":
        request["publish_at"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    else:
        request["media"] = [{"url": "http://cdn.example.com/a.jpg"}]
    fake.clear_calls()
    rec = api.watch_post(dep, _start_directly(dep, request), timeout_s=60)
    assert rec.status == "failed" and rec.failure_code == "invalid"
    assert ("3 hours in the past" if what == "past" else "must use https") in (rec.failure_reason or "")
    assert [c for c in fake.calls() if c["host"] == "graph.instagram.com"] == []


def test_publish_at_a_minute_ago_publishes_now(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    request = {"account_id": account.account_id, "kind": "image", "media": [{"url": image(fake)[1]}],
               "publish_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    rec = api.publish_post(dep, request, timeout_s=60)
    assert rec.status == "published", rec.failure_reason
