"""DynamoUsageStore offline (botocore Stubber): one conditional UpdateItem per counted call, no read first."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from igpub.repositories.usage import DynamoUsageStore

T0 = 1_800_000_000.0
MINUTE = int(T0 // 60)


def stubbed() -> tuple[DynamoUsageStore, Stubber]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return DynamoUsageStore("usage", client=client), Stubber(client)


def update_params(**overrides: Any) -> dict[str, Any]:
    return {
        "TableName": "usage",
        "Key": {"pk": {"S": "usage#a"}},
        "UpdateExpression": ANY,
        "ConditionExpression": ANY,
        "ExpressionAttributeValues": ANY,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        **overrides,
    }


def test_one_conditional_update_per_counted_call() -> None:
    store, stub = stubbed()
    captured: list[dict[str, Any]] = []
    stub.add_response("update_item", {}, update_params())
    stub.client.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **_: captured.append(params)
    )
    with stub:
        assert store.acquire("a", now=T0 + 3, budget=200).allowed
    stub.assert_no_pending_responses()
    (params,) = captured
    update = params["UpdateExpression"]
    add = update.split(" ADD ")[1].split(" REMOVE ")[0]
    remove = update.split(" REMOVE ")[1]
    assert len(add.split(",")) == 60 and len(remove.split(",")) == 60
    assert f"w{(MINUTE - 59) % 120} < :budget" in params["ConditionExpression"]
    assert params["ExpressionAttributeValues"][":budget"] == {"N": "200"}


def test_refusal_decided_from_the_failed_condition() -> None:
    store, stub = stubbed()
    old = {
        "pk": {"S": "usage#a"},
        "lm": {"N": str(MINUTE)},
        f"w{(MINUTE - 59) % 120}": {"N": "200"},
        f"w{(MINUTE - 58) % 120}": {"N": "150"},
    }
    stub.add_client_error(
        "update_item",
        service_error_code="ConditionalCheckFailedException",
        http_status_code=400,
        modeled_fields={"Item": old},
    )
    with stub:
        decision = store.acquire("a", now=T0 + 3, budget=200)
    assert not decision.allowed and decision.reason == "budget"
    assert decision.retry_after_s == pytest.approx(60 - 3)  # next minute, when the oldest minute drops out


def test_consistent_read_fallback_when_item_not_returned() -> None:
    store, stub = stubbed()
    stub.add_client_error(
        "update_item", service_error_code="ConditionalCheckFailedException", http_status_code=400
    )
    stub.add_response(
        "get_item",
        {"Item": {"pk": {"S": "usage#a"}, "blocked_until": {"N": str(T0 + 90)}}},
        {"TableName": "usage", "Key": {"pk": {"S": "usage#a"}}, "ConsistentRead": True},
    )
    with stub:
        decision = store.acquire("a", now=T0, budget=200)
    assert not decision.allowed and decision.reason == "usage"
    assert decision.retry_after_s == pytest.approx(90)


def test_zero_budget_refuses_without_calls() -> None:
    store, stub = stubbed()
    with stub:
        assert not store.acquire("a", now=T0, budget=0).allowed
