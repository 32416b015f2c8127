"""Shared fixtures. Tests under tests/integration and tests/e2e need the local stack (`make up`,
or `make test`, which starts it); unit tests need nothing."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from igpub.accounts import Account
from igpub.repositories.invites import InviteRepository, digest
from igpub_cli import api
from igpub_cli.api import list_accounts
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale, walk_connect_flow
from tests.local_stack import RUN_DIR

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# ----------------------------------------------------------------------------- log capture
# Every log record of this process, and every secret the suite saw, for tests/e2e/test_zz_logs.py.
CAPTURED_LOGS: list[str] = []
SECRETS_SEEN: set[str] = {"local-app-secret", "local-fb-app-secret", "a-different-secret"}


class _CaptureAll(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            CAPTURED_LOGS.append(record.getMessage() + " " + " ".join(map(str, record.__dict__.values())))
        except Exception:  # noqa: BLE001 - a broken record must not break the suite
            CAPTURED_LOGS.append(str(record.msg))


def pytest_configure(config: pytest.Config) -> None:
    handler = _CaptureAll(level=logging.DEBUG)
    for name in ("", "igpub", "httpx", "httpcore", "fakeig"):
        logging.getLogger(name).addHandler(handler)
    logging.getLogger("igpub").setLevel(logging.DEBUG)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "e2e" in parts or "integration" in parts:
            item.add_marker(pytest.mark.stack)
    # the long tests first, so the parallel offline run (pytest-xdist) packs the short ones around them; the
    # log audit after everything else
    items.sort(key=lambda item: (item.get_closest_marker("audit_last") is not None,
                                 item.get_closest_marker("long") is None))


@pytest.fixture(scope="session")
def dep() -> Deployment:
    stack_file = RUN_DIR / "stack.json"
    if not stack_file.exists():
        pytest.fail("the local stack is not running: run `make up` (make test starts it by itself)")
    return Deployment.load(stack_file=stack_file)


@pytest.fixture(scope="session")
def emulator(dep: Deployment) -> str:
    assert dep.endpoint_url
    return dep.endpoint_url


@pytest.fixture
def fake(dep: Deployment, emulator: str) -> Iterator[FakeInstagram]:
    """The fake Instagram, reset for this test (state, clock, faults, config) with fast waits."""
    assert dep.fake_url
    stop_running_executions(dep)
    f = FakeInstagram(dep.fake_url)
    f.reset()
    redirect_uris = [v for k, v in dep.outputs.items() if k.endswith("RedirectUri")]
    f.config(allowed_redirect_uris=redirect_uris)
    set_wait_scale(emulator, 0.02)  # a 5 s Wait takes 0.1 s
    clear_usage(dep)
    yield f
    f.clear_faults()
    remember_secrets(f)


def remember_secrets(f: FakeInstagram) -> None:
    """Every token the fake issued in this test, for the end-of-suite log audit."""
    SECRETS_SEEN.update(t["token"] for t in f._data(f.http.get("/_fake/tokens")))


def stop_running_executions(dep: Deployment) -> None:
    """Executions left running by an earlier test would keep calling the fake during this one."""
    sfn = dep.client("stepfunctions")
    arn = dep.outputs.get("PublishStateMachineArn")
    if not arn:
        return
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
        for ex in page["executions"]:
            sfn.stop_execution(executionArn=ex["executionArn"], cause="stopped by the test suite")


def clear_usage(dep: Deployment) -> None:
    """Forget the per-account call budgets and blocks left by earlier tests (the fake was reset)."""
    ddb = dep.client("dynamodb")
    table = dep.output("UsageTableName")
    for item in ddb.scan(TableName=table, ProjectionExpression="pk").get("Items", []):
        ddb.delete_item(TableName=table, Key={"pk": item["pk"]})


def publish_unchecked(dep: Deployment, request: dict[str, object], *, timeout_s: float = 120) -> api.PostRecord:
    """Start an execution directly (as a caller without igpub_cli.api's checks would) and watch it."""
    post_id = uuid.uuid4().hex
    arn = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=post_id,
        input=json.dumps({"post_id": post_id, "request": request}),
    )["executionArn"]
    return api.watch_post(dep, api.Submission(post_id=post_id, execution_arn=arn), timeout_s=timeout_s)


def execution_ended(dep: Deployment, arn: str, timeout: float = 90) -> dict[str, Any]:
    """The publish execution's description once it no longer runs."""
    sfn = dep.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.3)
    raise TimeoutError(arn)


def sample_event_invite(dep: Deployment, event_name: str, *, flow: str) -> None:
    """Store (again, unused) the invite that a connect sample event in events/ carries."""
    event = json.loads((ROOT / "events" / f"{event_name}.json").read_text())
    invite = event["queryStringParameters"]["invite"]
    repo = InviteRepository(dep.output("InvitesTableName"), table=dep.table("InvitesTableName"))
    repo.table.delete_item(Key={"invite_hash": digest(invite)})
    now = int(time.time())
    repo.create(invite, flow=flow, label=f"events/{event_name}.json", now=now, expires_at=now + 3600)


@pytest.fixture
def account(dep: Deployment, fake: FakeInstagram) -> Account:
    """The fake's demo user, connected through the deployed OAuth flow."""
    resp = walk_connect_flow(dep)
    assert resp.status_code == 200, resp.text
    return next(a for a in list_accounts(dep) if a.username == "igpub_demo")
