"""boto3 clients, created on first use (never at import) and cached per process.

Every client comes from one boto3 session whose event hook counts the HTTP requests sent to each
AWS API (retries included: each one is billed), so a handler can log what one invocation cost
(``take_request_counts``; ``make bench`` reads those log lines).
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
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


# IAM's prefix for a botocore service id (event names use the service id, hyphenated and lower-case)
_IAM_PREFIX = {"secrets-manager": "secretsmanager", "eventbridge": "events", "sfn": "states"}
# DynamoDB operations that IAM authorises per item, under the item's own action
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
# API operations whose IAM action has another name
_IAM_ACTION = {"s3.HeadObject": "s3:GetObject", "s3.ListObjectsV2": "s3:ListBucket", "s3.HeadBucket": "s3:ListBucket",
               "lambda.Invoke": "lambda:InvokeFunction"}
_calls: Counter[str] = Counter()


def _actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """``"<iam action> <resource>"`` for one API call, the resource as the caller named it (a table, an
    index as ``table/index/name``, a secret id, a parameter name, ``bucket/key``, a bus); ``*`` when the
    call names none (KMS Decrypt finds its key in the ciphertext)."""
    prefix = _IAM_PREFIX.get(service, service)
    action = _IAM_ACTION.get(f"{service}.{operation}", f"{prefix}:{operation}")
    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [f"dynamodb:{_TRANSACT_ACTIONS[kind]} {item[kind]['TableName']}"
                    for item in params.get("TransactItems", []) for kind in item if kind in _TRANSACT_ACTIONS]
        if operation in ("BatchWriteItem", "BatchGetItem"):
            return [f"{action} {name}" for name in params.get("RequestItems", {})]
        index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
        return [f"{action} {params.get('TableName', '*')}{index}"]
    if service == "s3":
        key = f"/{params['Key']}" if "Key" in params else ""
        return [f"{action} {params.get('Bucket', '*')}{key}"]
    if service == "eventbridge":
        buses = {e.get("EventBusName") or "default" for e in params.get("Entries", [])}
        return [f"{action} {bus}" for bus in sorted(buses)]
    resource = (params.get("SecretId") or params.get("Name") or params.get("KeyId") or params.get("FunctionName")
                or params.get("executionArn") or params.get("stateMachineArn") or params.get("QueueUrl") or "*")
    return [f"{action} {resource}"]


def _note_call(params: dict[str, Any] | None = None, event_name: str = "", **kwargs: Any) -> None:
    # event_name is "before-parameter-build.<service>.<Operation>", once per API call (presigned URLs too:
    # the URL is signed with this function's credentials, so its permission is used)
    _, service, operation = [*event_name.split(".", 2), "", ""][:3]
    try:
        actions = _actions(service, operation, params or {})
    except (KeyError, TypeError, AttributeError):  # a shape this bookkeeping does not know: never fail the call
        actions = [f"{_IAM_PREFIX.get(service, service)}:{operation} ?"]
    with _requests_lock:
        _calls.update(actions)


def take_calls() -> list[str]:
    """The IAM actions this process used since the last call, each with the resource it named:
    ``["dynamodb:GetItem igpub-AccountsTable-X", "kms:Decrypt *", ...]`` (the functions log them per
    invocation as ``aws_calls``; tests/e2e/test_zz_least_privilege.py compares them with the policies)."""
    with _requests_lock:
        calls = sorted(_calls)
        _calls.clear()
    return calls


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
    s.events.register("before-parameter-build", _note_call)
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


@cache
def _secrets_provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_session=session(), boto_config=_CONFIG)


@cache
def _ssm_provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_session=session(), boto_config=_CONFIG)


def secret_value(name: str, *, max_age: int = 300) -> str:
    """A Secrets Manager secret's value through Powertools Parameters (cached ``max_age`` seconds), on this
    module's session, so the call is counted like every other."""
    return str(_secrets_provider().get(name, max_age=max_age))


def parameter_value(name: str, *, max_age: int = 3600) -> str:
    """An SSM parameter's value through Powertools Parameters (cached), on this module's session."""
    return str(_ssm_provider().get(name, max_age=max_age))


def logs_aws_calls(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Log the IAM actions one invocation used (``aws calls`` line, field ``aws_calls``), even when it fails:
    what the least-privilege audit (tests/e2e/test_zz_least_privilege.py) reads."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        take_calls()  # this invocation's calls only
        try:
            return handler(event, context)
        finally:
            from igpub.observability import logger

            logger.info("aws calls", extra={"aws_calls": take_calls()})

    return wrapper
