"""boto3 clients, created on first use (never at import) and cached per process.

Every client comes from one boto3 session whose event hook counts the HTTP requests sent to each
AWS API (retries included: each one is billed), so a handler can log what one invocation cost
(``take_request_counts``; ``make bench`` reads those log lines).
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)

_requests: Counter[str] = Counter()
_requests_lock = threading.Lock()
_current = threading.local()  # the table of the DynamoDB call being sent on this thread


def _note_table(params: dict[str, Any] | None = None, **kwargs: Any) -> None:
    _current.table = (params or {}).get("TableName")


def _count_request(event_name: str = "", **kwargs: Any) -> None:
    # event_name is "before-send.<service>.<Operation>", once per HTTP request (each retry too);
    # DynamoDB requests are keyed by table as well ("dynamodb.GetItem@<table>"): prices depend on it
    api = event_name.partition(".")[2]
    if api.startswith("dynamodb.") and getattr(_current, "table", None):
        api = f"{api}@{_current.table}"
    with _requests_lock:
        _requests[api] += 1


def take_request_counts() -> dict[str, int]:
    """AWS requests sent since the last call: ``{"dynamodb.GetItem@<table>": 2, "kms.Decrypt": 1, ...}``."""
    with _requests_lock:
        counts = dict(_requests)
        _requests.clear()
    return counts


@cache
def session() -> boto3.session.Session:
    """The process's boto3 session; every client igpub makes comes from it (and is counted)."""
    s = boto3.session.Session()
    s.events.register("before-parameter-build.dynamodb", _note_table)
    s.events.register("before-send", _count_request)
    return s


@cache
def dynamodb_resource() -> DynamoDBServiceResource:
    return session().resource("dynamodb", config=_CONFIG)


def table(name: str) -> Table:
    return dynamodb_resource().Table(name)


class TableRepository:
    """A repository over one DynamoDB table, created on first use (or given, in tests)."""

    def __init__(self, table_name: str, *, table: Table | None = None) -> None:
        self._name = table_name
        self._table = table

    @property
    def table(self) -> Table:
        if self._table is None:
            self._table = table(self._name)  # the module's function (the property only shadows it here)
        return self._table


@cache
def kms() -> KMSClient:
    return session().client("kms", config=_CONFIG)


@cache
def s3() -> S3Client:
    return session().client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@cache
def events() -> Any:
    return session().client("events", config=_CONFIG)
