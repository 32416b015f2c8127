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
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)

# Error codes of AWS APIs that say "try again": throttling, a server-side failure, a timeout on AWS's side.
# (DynamoDB, KMS, Secrets Manager, S3; https://docs.aws.amazon.com/general/latest/gr/api-retries.html)
TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "TransactionInProgressException",
    }
)
_TRANSIENT_CANCEL_REASONS = frozenset({"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"})
_NETWORK_ERRORS = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError)


class AwsTransientError(Exception):
    """A task met an AWS error that goes away by itself (throttling, 5xx, a timeout) after boto3's own retries.

    The publisher raises it instead of the botocore error, so that on AWS the state machine's Retry can
    name it (``AwsTransientError``); the local emulator reports every Lambda error as
    ``Runtime.HandlerError``, which the same Retry lists (see the README, "Transient AWS errors").
    """


def transient_aws_error(exc: BaseException) -> str | None:
    """What went wrong, when ``exc`` (or an exception it was raised from, e.g. inside Powertools) is a
    transient AWS error; None otherwise (a bug, a permission, a missing table: retrying does not help)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _NETWORK_ERRORS):
            return f"{type(current).__name__}: {current}"
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            operation = getattr(current, "operation_name", "") or "call"
            reasons = {str(r.get("Code")) for r in current.response.get("CancellationReasons", []) or []}
            if code in TRANSIENT_AWS_CODES or status >= 500 or (
                code == "TransactionCanceledException" and reasons & _TRANSIENT_CANCEL_REASONS
            ):
                return f"{operation}: {code or status}"
            return None
        current = current.__cause__ or current.__context__
    return None

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


def project(attributes: tuple[str, ...]) -> dict[str, Any]:
    """The request parameters that read only ``attributes`` (all of them when empty), with every name
    behind a placeholder (``status``, ``source`` ... are reserved words)."""
    if not attributes:
        return {}
    names = {f"#p{i}": name for i, name in enumerate(attributes)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


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

    def scan_all(self, projection: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every item of the table, following ``LastEvaluatedKey`` (for small tables and operators' listings);
        only the ``projection`` attributes when given."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = project(projection)
        while True:
            resp = self.table.scan(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


@cache
def kms() -> KMSClient:
    return session().client("kms", config=_CONFIG)


@cache
def s3() -> S3Client:
    return session().client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@cache
def events() -> Any:
    return session().client("events", config=_CONFIG)
