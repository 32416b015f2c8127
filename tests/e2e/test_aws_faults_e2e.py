"""Transient AWS errors through the deployed stack: the publisher's DynamoDB and KMS calls go through the
fault proxy (local/awsfaults.py) and the post still publishes, once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from local.awsfaults import AwsFaultProxy, FaultRule, attached


def publisher_name(dep: Deployment) -> str:
    names = [f["FunctionName"] for page in dep.client("lambda").get_paginator("list_functions").paginate()
             for f in page["Functions"] if "PublisherFunction" in f["FunctionName"]]
    assert len(names) == 1, names
    return names[0]


@pytest.fixture
def proxy(dep: Deployment) -> Iterator[AwsFaultProxy]:
    assert dep.endpoint_url
    p = AwsFaultProxy(dep.endpoint_url, seed=12).start()
    try:
        with attached(dep.client("lambda"), publisher_name(dep), p.url, services=("dynamodb", "kms")):
            yield p
    finally:
        p.stop()


def task_attempts(dep: Deployment, arn: str, state: str) -> int:
    """How many times the state machine invoked the publisher for `state` (retries included)."""
    events: list[dict[str, Any]] = dep.client("stepfunctions").get_execution_history(
        executionArn=arn, maxResults=1000
    )["events"]
    current, count = None, 0
    for e in events:
        if e["type"].endswith("StateEntered"):
            current = e["stateEnteredEventDetails"]["name"]
        elif e["type"] in ("TaskScheduled", "LambdaFunctionScheduled") and current == state:
            count += 1
    return count


def test_prepare_survives_aws_faults_and_the_post_publishes_once(
    dep: Deployment, fake: FakeInstagram, account: Account, proxy: AwsFaultProxy
) -> None:
    posts_table = dep.output("PostsTableName")
    proxy.set_rules([
        # Prepare's claim of the post: more 500s than boto3 retries (5 attempts), so the task itself fails
        # with AwsTransientError and the state machine runs Prepare again
        FaultRule(service="dynamodb", operation="PutItem", table=posts_table, fault="http_500", times=6),
        # the account read after the claim: throttled twice (boto3 retries those)
        FaultRule(service="dynamodb", operation="GetItem", table=dep.output("AccountsTableName"), fault="throttle",
                  times=2),
        # the token's decryption in CreateContainers: throttled once
        FaultRule(service="kms", operation="Decrypt", fault="throttle", times=1),
    ])
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}], "caption": "faults"})
    rec = api.watch_post(dep, sub, timeout_s=240)
    assert rec.status == "published", rec.failure_reason
    assert proxy.fired["http_500 dynamodb.PutItem"] == 6
    assert proxy.fired["throttle dynamodb.GetItem"] == 2
    assert task_attempts(dep, sub.execution_arn, "Prepare") >= 2  # the state machine retried the task
    assert len([m for m in fake.media(account.account_id) if m.get("caption") == "faults"]) == 1
