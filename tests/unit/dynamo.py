"""DynamoDB tables for unit tests: moto's DynamoDB (which honours condition expressions), each table
created with the key schema and indexes template.yaml gives it, so a conditional write behaves as deployed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto import mock_aws

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml when built with it
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !Ref, !Sub ...: not needed here


@cache
def _resources() -> dict[str, Any]:
    """template.yaml's Resources, parsed once per process (a parse takes ~0.4 s in pure Python)."""
    resources: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_Loader)["Resources"]  # noqa: S506
    return resources


def table_spec(logical_id: str) -> dict[str, Any]:
    props = _resources()[logical_id]["Properties"]
    spec: dict[str, Any] = {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("GlobalSecondaryIndexes"):
        spec["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in props["GlobalSecondaryIndexes"]
        ]
    return spec


@cache
def dynamodb() -> Any:
    """One DynamoDB resource per process (building one takes ~45 ms): moto intercepts its calls in every
    ``mock_aws`` context, each of which starts from empty tables."""
    return boto3.resource("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@contextmanager
def tables(*logical_ids: str) -> Iterator[dict[str, Any]]:
    """moto tables named after their logical ids (e.g. "PostsTable"), as boto3 Table resources."""
    with mock_aws():
        ddb = dynamodb()
        out = {}
        for lid in logical_ids:
            out[lid] = ddb.create_table(TableName=lid, **table_spec(lid))
        yield out
