"""The typed Instagram Graph API client (Instagram Login on graph.instagram.com, Facebook Login on
graph.facebook.com). The only module of igpub that imports httpx.

Retry rules (reads freely, ``media_publish`` never blindly: see "Never twice" in the README):

* reads (GET) are retried on ``TransientError`` (including ``NetworkError``) with full-jitter exponential
  backoff, ``max_read_retries`` times;
* ``create_container`` is retried only when Instagram says explicitly that nothing was created (the error
  table's ``resend_safe`` rows: 1, 2, -1/2207001, -1/2207032, -2/2207003, unless ``is_transient: false``)
  or when the connection could not be set up;
* ``publish`` is never retried, not even on a connection error: the caller checks the container status;
* code exchanges (single-use codes) are retried only when the connection could not be set up;
* ``RateLimitedError`` is never slept on here: it carries ``retry_after_s`` for the caller (Step Functions).

Secrets: graph calls send the token as ``Authorization: Bearer``. The token endpoints that document query
parameters get them as query parameters; httpx/httpcore loggers are raised to WARNING so no URL is logged,
our own log lines carry the path only, and no error message contains a token, a code or a secret.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
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
from igpub.instagram.models import (
    Comment,
    Container,
    ContainerStatus,
    FacebookPage,
    FacebookToken,
    HashtagMedia,
    HashtagSearchResult,
    InsightMetric,
    LongLivedToken,
    Me,
    Media,
    PublishingLimit,
    ShortLivedToken,
    SubscribedApp,
)
from igpub.instagram.usage import NullUsageGuard, UsageGuard, UsageSnapshot, parse_usage_headers

__all__ = ["COMMENT_FIELDS", "DEFAULT_MEDIA_FIELDS", "HASHTAG_MEDIA_FIELDS", "InstagramClient", "encode_params"]

log = logging.getLogger(__name__)

DEFAULT_MEDIA_FIELDS = "id,permalink,media_type,media_product_type,shortcode,timestamp,caption"
HASHTAG_MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp,like_count,comments_count"
ME_FIELDS = "user_id,username,account_type,id"
PAGE_FIELDS = "id,name,access_token,instagram_business_account"
COMMENT_FIELDS = "id,text,timestamp,username,from,user,hidden,like_count,parent_id"

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


class _Retry(enum.Enum):
    READ = "read"  # TransientError / NetworkError, with backoff
    CREATE = "create"  # explicit "nothing created" errors, and connections never set up
    EXCHANGE = "exchange"  # connections never set up only (single-use codes)
    NEVER = "never"  # media_publish


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Form-encode container parameters: booleans as ``true``/``false``, lists and dicts as compact JSON,
    ``children`` (a list of container ids) comma-separated as the reference documents, ``None`` dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif key == "children" and isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, list | tuple | dict):
            out[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            out[key] = str(value)
    return out


def strip_code(code: str) -> str:
    """An authorization code without the ``#_`` / ``#_=_`` that Meta's redirects append to it."""
    code = code.strip()
    for suffix in ("#_=_", "#_"):
        code = code.removesuffix(suffix)
    return code


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO; token endpoints carry secrets in their query strings.
    Raised to WARNING (unless set higher) when a client is made, so no URL is ever logged."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


class InstagramClient:
    """Instagram Graph API calls, typed. Tokens are plain ``str`` arguments; results are pydantic models."""

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
        self._http = http if http is not None else httpx.Client(timeout=self._timeout, follow_redirects=False)
        self._usage: UsageGuard = usage if usage is not None else NullUsageGuard()
        self._sleep = sleep
        self._rng = rng
        self._app_secret = app_secret
        quiet_http_loggers()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ OAuth (Instagram Login)

    def exchange_code(
        self, code: str, redirect_uri: str, app_secret: str | None = None, *, app_id: str | None = None
    ) -> ShortLivedToken:
        """Authorization code -> short-lived token (``POST api.instagram.com/oauth/access_token``)."""
        form = {
            "client_id": app_id or self.settings.instagram_app_id,
            "client_secret": self._secret(app_secret),
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": strip_code(code),
        }
        url = f"{self.settings.instagram_api_base.rstrip('/')}/oauth/access_token"
        body = self._call("POST", url, op=Operation.OAUTH, retry=_Retry.EXCHANGE, data=form)
        return self._model(ShortLivedToken, body, "oauth/access_token")

    def exchange_long_lived(self, short_token: str, app_secret: str | None = None) -> LongLivedToken:
        """Short-lived -> long-lived (60 days) token (``GET graph.instagram.com/access_token``)."""
        params = {
            "grant_type": "ig_exchange_token",
            "client_secret": self._secret(app_secret),
            "access_token": short_token,
        }
        url = f"{self.settings.graph_instagram_base.rstrip('/')}/access_token"
        body = self._call("GET", url, op=Operation.OAUTH, retry=_Retry.READ, params=params)
        return self._model(LongLivedToken, body, "access_token")

    def refresh_token(self, token: str, *, account_id: str | None = None) -> LongLivedToken:
        """Refresh a long-lived token at least 24 h old (``GET graph.instagram.com/refresh_access_token``)."""
        params = {"grant_type": "ig_refresh_token", "access_token": token}
        url = f"{self.settings.graph_instagram_base.rstrip('/')}/refresh_access_token"
        body = self._call("GET", url, op=Operation.READ, retry=_Retry.READ, params=params, account_id=account_id)
        return self._model(LongLivedToken, body, "refresh_access_token")

    def get_me(self, token: str, *, account_id: str | None = None) -> Me:
        body = self._graph("GET", "me", token, params={"fields": ME_FIELDS}, account_id=account_id)
        return self._model(Me, body, "me")

    # ------------------------------------------------------------------ publishing

    def create_container(self, ig_user_id: str, token: str, params: Mapping[str, Any]) -> Container:
        """``POST /{ig_user_id}/media``. See the module docstring for when it is retried."""
        body = self._graph(
            "POST",
            f"{ig_user_id}/media",
            token,
            data=encode_params(params),
            op=Operation.WRITE,
            retry=_Retry.CREATE,
            account_id=ig_user_id,
        )
        return self._model(Container, body, "media")

    def get_container_status(self, container_id: str, token: str, *, account_id: str | None = None) -> ContainerStatus:
        body = self._graph(
            "GET", container_id, token, params={"fields": "id,status_code,status"}, account_id=account_id
        )
        return self._model(ContainerStatus, body, "container")

    def publish(self, ig_user_id: str, token: str, creation_id: str) -> str:
        """``POST /{ig_user_id}/media_publish`` -> the media id. Never retried: on any error, check the
        container's ``status_code`` (PUBLISHED means it worked) before trying again."""
        body = self._graph(
            "POST",
            f"{ig_user_id}/media_publish",
            token,
            data={"creation_id": creation_id},
            op=Operation.PUBLISH,
            retry=_Retry.NEVER,
            account_id=ig_user_id,
        )
        media_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(media_id, int) and not isinstance(media_id, bool):
            media_id = str(media_id)
        if not isinstance(media_id, str) or not media_id:
            raise UnexpectedResponseError("media_publish answered without a media id")
        return media_id

    def get_publishing_limit(self, ig_user_id: str, token: str) -> PublishingLimit:
        body = self._graph(
            "GET",
            f"{ig_user_id}/content_publishing_limit",
            token,
            params={"fields": "quota_usage,config"},
            account_id=ig_user_id,
        )
        return self._model(PublishingLimit, body, "content_publishing_limit")

    def get_media(
        self, media_id: str, token: str, fields: str = DEFAULT_MEDIA_FIELDS, *, account_id: str | None = None
    ) -> Media:
        body = self._graph("GET", media_id, token, params={"fields": fields}, account_id=account_id)
        return self._model(Media, body, "media")

    def list_media(
        self, ig_user_id: str, token: str, limit: int = 25, fields: str = DEFAULT_MEDIA_FIELDS
    ) -> list[Media]:
        """The account's most recent media, newest first (``GET /{ig_user_id}/media``; no stories)."""
        items = self._edge(
            f"{ig_user_id}/media",
            token,
            {"fields": fields},
            limit=limit,
            facebook=False,
            account_id=ig_user_id,
        )
        return [self._model(Media, item, "media") for item in items]

    # ------------------------------------------------------------------ comments
    # https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments
    # https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment
    # Writes are never retried here (a failed-looking create may have posted the comment): the caller
    # lists the comments before trying again. The create call never sends ``fields`` (Instagram then
    # posts the comment and answers an error, 20/1772107).

    def list_comments(
        self, media_id: str, token: str, *, account_id: str, limit: int = 1000, fields: str = COMMENT_FIELDS,
        replies: bool = False,
    ) -> list[Comment]:
        """Top-level comments of a media, newest first, following the pages (50 per page) up to ``limit``."""
        if replies:
            fields = f"{fields},replies{{{fields}}}"
        items = self._edge(f"{media_id}/comments", token, {"fields": fields}, limit=limit, facebook=False,
                           account_id=account_id)
        return [self._model(Comment, item, "comments") for item in items]

    def list_replies(
        self, comment_id: str, token: str, *, account_id: str, limit: int = 1000, fields: str = COMMENT_FIELDS
    ) -> list[Comment]:
        items = self._edge(f"{comment_id}/replies", token, {"fields": fields}, limit=limit, facebook=False,
                           account_id=account_id)
        return [self._model(Comment, item, "replies") for item in items]

    def get_comment(self, comment_id: str, token: str, *, account_id: str, fields: str = COMMENT_FIELDS) -> Comment:
        body = self._graph("GET", comment_id, token, params={"fields": fields}, account_id=account_id)
        return self._model(Comment, body, "comment")

    def create_comment(self, media_id: str, token: str, message: str, *, account_id: str) -> str:
        """``POST /{media_id}/comments`` -> the comment id. Never retried."""
        body = self._graph("POST", f"{media_id}/comments", token, data={"message": message},
                           op=Operation.WRITE, retry=_Retry.NEVER, account_id=account_id)
        return self._new_id(body, "comments")

    def reply_to_comment(self, comment_id: str, token: str, message: str, *, account_id: str) -> str:
        """``POST /{comment_id}/replies`` -> the reply's id. Never retried."""
        body = self._graph("POST", f"{comment_id}/replies", token, data={"message": message},
                           op=Operation.WRITE, retry=_Retry.NEVER, account_id=account_id)
        return self._new_id(body, "replies")

    def hide_comment(self, comment_id: str, token: str, hide: bool = True, *, account_id: str) -> None:
        """``POST /{comment_id}?hide=true|false`` (a comment the account wrote stays visible)."""
        body = self._graph("POST", comment_id, token, data={"hide": "true" if hide else "false"},
                           op=Operation.WRITE, retry=_Retry.READ, account_id=account_id)
        self._success(body, "hide")

    def delete_comment(self, comment_id: str, token: str, *, account_id: str) -> None:
        body = self._graph("DELETE", comment_id, token, op=Operation.WRITE, retry=_Retry.READ, account_id=account_id)
        self._success(body, "delete comment")

    def set_comment_enabled(self, media_id: str, token: str, enabled: bool, *, account_id: str) -> None:
        """``POST /{media_id}?comment_enabled=true|false``: turn comments on or off on a media."""
        body = self._graph("POST", media_id, token, data={"comment_enabled": "true" if enabled else "false"},
                           op=Operation.WRITE, retry=_Retry.READ, account_id=account_id)
        self._success(body, "comment_enabled")

    # ------------------------------------------------------------------ insights

    def get_media_insights(
        self, media_id: str, token: str, metrics: Sequence[str], *, account_id: str
    ) -> list[InsightMetric]:
        """``GET /{media_id}/insights?metric=...`` (always lifetime). Empty when no data yet."""
        body = self._graph("GET", f"{media_id}/insights", token, params={"metric": ",".join(metrics)},
                           account_id=account_id)
        return self._metrics(body, "media insights")

    def get_account_insights(
        self,
        ig_user_id: str,
        token: str,
        metrics: Sequence[str],
        *,
        period: str = "day",
        metric_type: str = "total_value",
        since: int | None = None,
        until: int | None = None,
        breakdown: str | None = None,
    ) -> list[InsightMetric]:
        """``GET /{ig_user_id}/insights`` (no since/until: the last 24 h; at most 30 days between them)."""
        params = {"metric": ",".join(metrics), "period": period, "metric_type": metric_type}
        if since is not None:
            params["since"] = str(since)
        if until is not None:
            params["until"] = str(until)
        if breakdown:
            params["breakdown"] = breakdown
        body = self._graph("GET", f"{ig_user_id}/insights", token, params=params, account_id=ig_user_id)
        return self._metrics(body, "account insights")

    # ------------------------------------------------------------------ webhooks (per-account enablement)
    # https://developers.facebook.com/docs/instagram-platform/webhooks

    def subscribe_app(self, ig_user_id: str, token: str, fields: Sequence[str]) -> None:
        """``POST /{ig_user_id}/subscribed_apps?subscribed_fields=...``: webhooks for this account."""
        body = self._graph("POST", f"{ig_user_id}/subscribed_apps", token,
                           data={"subscribed_fields": ",".join(fields)}, op=Operation.WRITE,
                           retry=_Retry.READ, account_id=ig_user_id)
        self._success(body, "subscribed_apps")

    def get_subscribed_apps(self, ig_user_id: str, token: str) -> list[SubscribedApp]:
        body = self._graph("GET", f"{ig_user_id}/subscribed_apps", token, account_id=ig_user_id)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise UnexpectedResponseError("subscribed_apps answered without a data list")
        return [self._model(SubscribedApp, item, "subscribed_apps") for item in data]

    # ------------------------------------------------------------------ Facebook Login + hashtags

    def exchange_facebook_code(self, code: str, redirect_uri: str, app_id: str, app_secret: str) -> FacebookToken:
        """Code -> Facebook user token (``GET graph.facebook.com/{v}/oauth/access_token``)."""
        params = {
            "client_id": app_id,
            "redirect_uri": redirect_uri,
            "client_secret": app_secret,
            "code": strip_code(code),
        }
        url = self.settings.graph_url("oauth/access_token", facebook=True)
        body = self._call("GET", url, op=Operation.OAUTH, retry=_Retry.EXCHANGE, params=params)
        return self._model(FacebookToken, body, "oauth/access_token")

    def exchange_facebook_long_lived(self, token: str, app_id: str, app_secret: str) -> FacebookToken:
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "fb_exchange_token": token,
        }
        url = self.settings.graph_url("oauth/access_token", facebook=True)
        body = self._call("GET", url, op=Operation.OAUTH, retry=_Retry.READ, params=params)
        return self._model(FacebookToken, body, "oauth/access_token")

    def get_facebook_pages(self, token: str) -> list[FacebookPage]:
        """The user's Pages with their linked Instagram professional account (``/me/accounts``)."""
        items = self._edge("me/accounts", token, {"fields": PAGE_FIELDS}, limit=None, facebook=True)
        return [self._model(FacebookPage, item, "me/accounts") for item in items]

    def hashtag_search(self, ig_user_id: str, token: str, q: str) -> str:
        """The (static, global) id of a hashtag. Counts against the 30-per-7-days budget."""
        body = self._graph(
            "GET",
            "ig_hashtag_search",
            token,
            params={"user_id": ig_user_id, "q": q.strip().lstrip("#")},
            op=Operation.HASHTAG_SEARCH,
            account_id=ig_user_id,
            facebook=True,
        )
        return self._model(HashtagSearchResult, body, "ig_hashtag_search").id

    def hashtag_top_media(self, hashtag_id: str, ig_user_id: str, token: str, limit: int = 25) -> list[HashtagMedia]:
        params = {"user_id": ig_user_id, "fields": HASHTAG_MEDIA_FIELDS}
        items = self._edge(
            f"{hashtag_id}/top_media",
            token,
            params,
            limit=limit,
            facebook=True,
            op=Operation.HASHTAG_SEARCH,
            account_id=ig_user_id,
        )
        return [self._model(HashtagMedia, item, "top_media") for item in items]

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
        retry: _Retry | None = None,
        account_id: str | None = None,
        facebook: bool = False,
    ) -> Any:
        read = method == "GET"
        return self._call(
            method,
            self.settings.graph_url(path, facebook=facebook),
            op=op or (Operation.READ if read else Operation.WRITE),
            retry=retry or (_Retry.READ if read else _Retry.NEVER),
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
        retry: _Retry,
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
    def _retryable(retry: _Retry, error: InstagramError) -> bool:
        if retry is _Retry.NEVER:
            return False
        if isinstance(error, NetworkError):
            return retry is _Retry.READ or not error.request_sent
        if retry is _Retry.READ:
            return isinstance(error, TransientError)
        return retry is _Retry.CREATE and isinstance(error, TransientError) and error.resend_safe

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
