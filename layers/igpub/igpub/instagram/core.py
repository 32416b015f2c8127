"""The HTTP core of the Instagram Graph API client (Instagram Login on graph.instagram.com, Facebook Login on
graph.facebook.com): authentication, retries, usage tracking and error parsing, shared by the
one module per API family (``tokens``, ``publishing``, ``media``, ``comments``, ``insights``,
``subscriptions``, ``facebook``) that ``igpub.instagram.client`` puts together. The only modules of igpub
that import httpx.

The retry rules and the handling of secrets are described in ``igpub.instagram.client``; ``Retry``
below names them and ``GraphCore._retryable`` applies them.
"""

from __future__ import annotations

import enum
import functools
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from igpub.config import Settings
from igpub.instagram.error_parsing import parse_error
from igpub.instagram.errors import (
    InstagramError,
    NetworkError,
    Operation,
    RateLimitedError,
    TransientError,
    UnexpectedResponseError,
)
from igpub.instagram.models import InsightMetric
from igpub.instagram.usage import NullUsageGuard, UsageGuard, UsageSnapshot, parse_usage_headers

__all__ = ["GraphCore", "Retry", "quiet_http_loggers"]

log = logging.getLogger("igpub.instagram.client")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verified TLS context, built once per process: loading the CA bundle takes ~15 ms,
    which every new client would otherwise pay again."""
    return httpx.create_ssl_context()

# Exceptions raised before any byte of the request left this machine.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)
_MAX_PAGES = 20
_PAGE_MAX = 50

M = TypeVar("M", bound=BaseModel)


class Retry(enum.Enum):
    READ = "read"  # TransientError / NetworkError, with backoff
    CREATE = "create"  # explicit "nothing created" errors, and connections never set up
    EXCHANGE = "exchange"  # connections never set up only (single-use codes)
    NEVER = "never"  # media_publish


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO; token endpoints carry secrets in their query strings.
    Raised to WARNING (unless set higher) when a client is made, so no URL is ever logged."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)



class GraphCore:
    """The HTTP plumbing every API family builds on. Tokens are plain ``str`` arguments."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.Client | None = None,
        usage: UsageGuard | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        app_secret: str | None = None,
    ) -> None:
        self.settings = settings
        self._timeout = httpx.Timeout(settings.http_timeout_s)
        self._publish_timeout = httpx.Timeout(settings.publish_timeout_s, connect=settings.http_timeout_s)
        self._owns_http = http is None
        self._http = (http if http is not None
                      else httpx.Client(timeout=self._timeout, follow_redirects=False, verify=tls_context()))
        self._usage: UsageGuard = usage if usage is not None else NullUsageGuard()
        self._sleep = sleep
        self._rng = rng
        self._app_secret = app_secret
        quiet_http_loggers()


    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _secret(self, app_secret: str | None) -> str:
        secret = app_secret or self._app_secret
        if not secret:
            raise ValueError("the Instagram app secret is required for this call")
        return secret

    def _graph(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        op: Operation | None = None,
        retry: Retry | None = None,
        account_id: str | None = None,
        facebook: bool = False,
    ) -> Any:
        read = method == "GET"
        return self._call(
            method,
            self.settings.graph_url(path, facebook=facebook),
            op=op or (Operation.READ if read else Operation.WRITE),
            retry=retry or (Retry.READ if read else Retry.NEVER),
            params=params,
            data=data,
            token=token,
            account_id=account_id,
        )

    def _edge(
        self,
        path: str,
        token: str,
        params: Mapping[str, str],
        *,
        limit: int | None,
        facebook: bool,
        op: Operation = Operation.READ,
        account_id: str | None = None,
    ) -> list[Any]:
        """Read an edge, following ``paging.cursors.after`` until ``limit`` items (or the end)."""
        items: list[Any] = []
        query = dict(params)
        if limit is not None:
            query["limit"] = str(max(1, min(limit, _PAGE_MAX)))
        for _ in range(_MAX_PAGES):
            body = self._graph("GET", path, token, params=query, op=op, account_id=account_id, facebook=facebook)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise UnexpectedResponseError(f"{path} answered without a data list")
            items.extend(data)
            if limit is not None and len(items) >= limit:
                return items[:limit]
            paging = body.get("paging") if isinstance(body, dict) else None
            after = None
            if isinstance(paging, dict) and paging.get("next"):
                cursors = paging.get("cursors")
                after = cursors.get("after") if isinstance(cursors, dict) else None
            if not after or not data:
                break
            query["after"] = str(after)
        return items

    def _call(
        self,
        method: str,
        url: str,
        *,
        op: Operation,
        retry: Retry,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        token: str | None = None,
        account_id: str | None = None,
    ) -> Any:
        path = urlsplit(url).path  # what we may log: never the query string
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            if account_id:
                self._usage.before_call(account_id)  # may raise RateLimitedError: nothing sent
            started = time.monotonic()
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self._publish_timeout if op is Operation.PUBLISH else self._timeout,
                )
            except httpx.TransportError as exc:
                error: InstagramError = NetworkError(
                    f"{type(exc).__name__} on {method} {path}: {exc}",
                    request_sent=not isinstance(exc, _NOT_SENT),
                )
            else:
                snapshot = parse_usage_headers(response.headers)
                log.debug(
                    "instagram call",
                    extra={
                        "method": method,
                        "path": path,
                        "status": response.status_code,
                        "attempt": attempt,
                        "elapsed_ms": round((time.monotonic() - started) * 1000),
                        "usage_pct": snapshot.max_pct if snapshot else None,
                    },
                )
                if response.is_success:
                    if account_id:
                        self._usage.after_call(account_id, snapshot)
                    return self._json(response, path)
                error = parse_error(response, op=op)
                if account_id:
                    if isinstance(error, RateLimitedError):
                        snapshot = UsageSnapshot.throttled(error.retry_after_s)
                    self._usage.after_call(account_id, snapshot)
            if attempt >= self.settings.max_read_retries or not self._retryable(retry, error):
                raise error
            delay = self._rng() * min(self.settings.retry_max_delay_s, self.settings.retry_base_delay_s * (2**attempt))
            log.info(
                "retrying instagram call",
                extra={
                    "method": method,
                    "path": path,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                    "error_code": error.code,
                    "error_subcode": error.subcode,
                },
            )
            self._sleep(delay)
            attempt += 1

    @staticmethod
    def _retryable(retry: Retry, error: InstagramError) -> bool:
        if retry is Retry.NEVER:
            return False
        if isinstance(error, NetworkError):
            return retry is Retry.READ or not error.request_sent
        if retry is Retry.READ:
            return isinstance(error, TransientError)
        return retry is Retry.CREATE and isinstance(error, TransientError) and error.resend_safe

    @staticmethod
    def _new_id(body: Any, what: str) -> str:
        new_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(new_id, int) and not isinstance(new_id, bool):
            new_id = str(new_id)
        if not isinstance(new_id, str) or not new_id:
            raise UnexpectedResponseError(f"{what} answered without an id")
        return new_id

    @staticmethod
    def _success(body: Any, what: str) -> None:
        if not (isinstance(body, dict) and body.get("success") is True):
            raise UnexpectedResponseError(f"{what} did not answer success")

    def _metrics(self, body: Any, what: str) -> list[InsightMetric]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise UnexpectedResponseError(f"{what} answered without a data list")
        return [self._model(InsightMetric, item, what) for item in data]

    @staticmethod
    def _json(response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponseError(
                f"{path} answered HTTP {response.status_code} with a non-JSON body",
                http_status=response.status_code,
            ) from None

    @staticmethod
    def _model(model: type[M], body: Any, what: str) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            # Never put the input in the message (it may hold a token); `from None` drops the original too.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            )
            raise UnexpectedResponseError(f"unexpected {what} response: {problems}") from None
