"""What `make bench` and `make chaos` share: finding the local stack, connecting fake users,
reading the execution history and the publisher's log lines."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment, DeploymentNotFound
from igpub_cli.local import FakeInstagram, walk_connect_flow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def local_stack() -> tuple[Deployment, FakeInstagram]:
    """The running local stack, or exit 2 with a message saying how to start it."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    stack_file = os.path.join(ROOT, ".run", "stack.json")
    problem = None
    if not os.path.exists(stack_file):
        problem = f"no {os.path.relpath(stack_file)}"
    else:
        try:
            dep = Deployment.load(stack_file=__import__("pathlib").Path(stack_file))
            assert dep.endpoint_url and dep.fake_url
            httpx.get(f"{dep.endpoint_url}/_ministack/health", timeout=3).raise_for_status()
            httpx.get(f"{dep.fake_url}/_fake/clock", timeout=3).raise_for_status()
            return dep, FakeInstagram(dep.fake_url)
        except (httpx.HTTPError, AssertionError, DeploymentNotFound, KeyError, ValueError) as exc:
            problem = f"the stack in {os.path.relpath(stack_file)} does not answer ({exc})"
    print(f"The local stack is not up ({problem}): run `make up` first.", file=sys.stderr)
    raise SystemExit(2)


def stop_running_executions(dep: Deployment) -> None:
    sfn = dep.client("stepfunctions")
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=dep.output("PublishStateMachineArn"), statusFilter="RUNNING"
    ):
        for ex in page["executions"]:
            sfn.stop_execution(executionArn=ex["executionArn"], cause="stopped by the benchmark")


def clear_usage(dep: Deployment, account_ids: list[str] | None = None) -> None:
    """Forget igpub's per-account call counters and blocks (all, or these accounts')."""
    ddb = dep.client("dynamodb")
    table = dep.output("UsageTableName")
    for item in ddb.scan(TableName=table, ProjectionExpression="pk").get("Items", []):
        pk = item["pk"]["S"]
        if account_ids is None or any(pk.endswith(a) for a in account_ids):
            ddb.delete_item(TableName=table, Key={"pk": {"S": pk}})


def connect_users(dep: Deployment, fake: FakeInstagram, usernames: list[str],
                  features: str | None = None) -> list[Account]:
    """Create these users at the fake (idempotent) and connect each through igpub's OAuth flow
    (``features``: e.g. "insights", as `igpub connect --with`)."""
    redirect = dep.output("OAuthRedirectUri")
    allowed = fake.get_config().get("allowed_redirect_uris") or []
    if redirect not in allowed:
        fake.config(allowed_redirect_uris=[*allowed, redirect])
    for name in usernames:
        fake.create_user(name)
        resp = walk_connect_flow(dep, login_as=name, features=features)
        if resp.status_code != 200:
            raise RuntimeError(f"connecting {name} failed: {resp.status_code} {resp.text[:200]}")
    by_name = {a.username: a for a in api.list_accounts(dep)}
    return [by_name[n] for n in usernames]


def history(dep: Deployment, arn: str) -> list[dict[str, Any]]:
    sfn = dep.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def function_name(dep: Deployment, logical: str) -> str:
    for page in dep.client("lambda").get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            if f"-{logical}-" in f["FunctionName"]:
                return str(f["FunctionName"])
    raise RuntimeError(f"no deployed function {logical}")


def log_events(dep: Deployment, group: str, start_ms: int) -> Iterator[dict[str, Any]]:
    logs = dep.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    while True:
        page = logs.filter_log_events(**kwargs)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def invocations(dep: Deployment, function: str, start_ms: int, post_id: str, expected: int,
                timeout_s: float = 15) -> list[dict[str, Any]]:
    """The publisher invocations for this post since start_ms, from its log lines: per invocation the
    step, the AWS requests it logged (``aws_requests``), its duration and memory (REPORT line) and the
    bytes it logged."""
    deadline = time.monotonic() + timeout_s
    while True:
        by_request: dict[str, dict[str, Any]] = {}
        streams: dict[str, list[str]] = {}
        for e in log_events(dep, f"/aws/lambda/{function}", start_ms):
            streams.setdefault(e["logStreamName"], []).append(e["message"])
        for lines in streams.values():
            request_id = None
            for line in lines:
                if line.startswith("START RequestId: "):
                    request_id = line.split()[2]
                    by_request.setdefault(request_id, {"log_bytes": 0})
                if request_id is None:
                    continue
                inv = by_request[request_id]
                inv["log_bytes"] += len(line.encode()) + 1
                if line.startswith("{") and '"step done"' in line:
                    data = json.loads(line)
                    inv.update(post_id=data.get("post_id"), step=data.get("step"),
                               aws_requests=data.get("aws_requests") or {})
                elif line.startswith("REPORT RequestId: "):
                    fields = dict(part.split(": ", 1) for part in line.split("\t") if ": " in part)
                    inv["billed_ms"] = float(fields.get("Billed Duration", "0 ms").split()[0])
                    inv["memory_mb"] = int(fields.get("Memory Size", "512 MB").split()[0])
        mine = [i for i in by_request.values() if i.get("post_id") == post_id and "billed_ms" in i]
        if len(mine) >= expected or time.monotonic() > deadline:
            return mine
        time.sleep(0.5)
