"""boto3 clients, created on first use (never at import) and cached per process."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_stepfunctions.client import SFNClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def dynamodb_resource() -> DynamoDBServiceResource:
    return boto3.resource("dynamodb", config=_CONFIG)


def table(name: str) -> Table:
    return dynamodb_resource().Table(name)


aws_table = table


class TableRepository:
    """A repository over one DynamoDB table, created on first use (or given, in tests)."""

    def __init__(self, table_name: str, *, table: Table | None = None) -> None:
        self._name = table_name
        self._table = table

    @property
    def table(self) -> Table:
        if self._table is None:
            self._table = aws_table(self._name)
        return self._table


@cache
def kms() -> KMSClient:
    return boto3.client("kms", config=_CONFIG)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@cache
def stepfunctions() -> SFNClient:
    return boto3.client("stepfunctions", config=_CONFIG)


@cache
def events() -> Any:
    return boto3.client("events", config=_CONFIG)
