"""The Instagram error hierarchy, classified by Graph ``code`` / ``error_subcode`` (never by HTTP status).

Every classification decision lives in ``_RULES`` below (one ordered table, first match wins); the
advice shown to people lives in ``_ADVICE``. ``parse_error`` turns any failed response (Graph envelope,
OAuth envelope of ``api.instagram.com/oauth/access_token``, or a non-JSON body) into one of these.

This module does not import httpx: ``parse_error`` takes anything shaped like a response (``ResponseLike``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from igpub.instagram.models import Usage

__all__ = [
    "AuthError",
    "ContainerExpiredError",
    "HashtagLimitError",
    "InstagramError",
    "InvalidMediaError",
    "InvalidRequestError",
    "NetworkError",
    "NotReadyError",
    "OAuthConfigError",
    "OAuthError",
    "Operation",
    "PermissionDeniedError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "ResponseLike",
    "TransientError",
    "UnexpectedResponseError",
    "advice_for_subcode",
    "classify",
    "parse_error",
]


class Operation(StrEnum):
    """What kind of call failed: a few codes mean different things depending on it."""

    READ = "read"  # GET of a node or edge
    WRITE = "write"  # POST that creates something (container)
    PUBLISH = "publish"  # media_publish
    HASHTAG_SEARCH = "hashtag_search"  # ig_hashtag_search and hashtag edges
    OAUTH = "oauth"  # code / token exchanges


# --------------------------------------------------------------------------------------------------------
# The hierarchy


class InstagramError(Exception):
    """Any failure talking to Instagram / the Graph API."""

    kind: ClassVar[str] = "error"
    retryable: ClassVar[bool] = False  # may the same request be retried right away (with backoff)?

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
        is_transient: bool | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.user_title = user_title
        self.user_msg = user_msg
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.is_transient = is_transient  # the envelope's own flag, as sent (None when absent)
        self.error_type = error_type

    def _fields(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "subcode": self.subcode,
            "user_title": self.user_title,
            "user_msg": self.user_msg,
            "fbtrace_id": self.fbtrace_id,
            "http_status": self.http_status,
            "is_transient": self.is_transient,
            "error_type": self.error_type,
        }

    def __reduce__(self) -> tuple[Any, ...]:  # keep keyword-only arguments through pickling
        return (_rebuild, (type(self), self.message, self._fields()))

    def __str__(self) -> str:
        ids = ", ".join(f"{k}={v}" for k, v in (("code", self.code), ("subcode", self.subcode)) if v is not None)
        trace = f" (fbtrace_id={self.fbtrace_id})" if self.fbtrace_id else ""
        return f"{self.message} [{ids}]{trace}" if ids else f"{self.message}{trace}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r}, subcode={self.subcode!r})"

    @property
    def advice(self) -> str:
        """A sentence a person can act on: Instagram's localized ``error_user_msg`` first, then our table."""
        if self.user_msg:
            return self.user_msg
        for key in ((self.code, self.subcode), (None, self.subcode), (self.code, None)):
            if key != (None, None) and key in _ADVICE:
                return _ADVICE[key]
        return self._default_advice()

    def _default_advice(self) -> str:
        return "Instagram rejected the request; see the error message for details."

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (task outcomes, logs). Never contains a token."""
        return {
            "kind": self.kind,
            "type": type(self).__name__,
            "message": self.message,
            "code": self.code,
            "subcode": self.subcode,
            "fbtrace_id": self.fbtrace_id,
            "http_status": self.http_status,
            "advice": self.advice,
        }


def _rebuild(cls: type[InstagramError], message: str, fields: dict[str, Any]) -> InstagramError:
    err = cls.__new__(cls)
    InstagramError.__init__(err, message, **{k: v for k, v in fields.items() if k != "retry_after_s"})
    if isinstance(err, RateLimitedError):
        err.retry_after_s = float(fields.get("retry_after_s") or DEFAULT_RETRY_AFTER_S)
    if isinstance(err, NetworkError):
        err.request_sent = bool(fields.get("request_sent", True))
    return err


class TransientError(InstagramError):
    """Instagram failed for a reason that usually goes away: retry with backoff (reads freely)."""

    kind = "transient"
    retryable = True

    def _default_advice(self) -> str:
        return "Instagram had a temporary problem; try again in a moment."


class NetworkError(TransientError):
    """No usable HTTP response: connection refused or reset, timeout, protocol error.

    ``request_sent`` is False only when the connection could not even be set up (nothing reached Instagram);
    otherwise Instagram may have acted on the request.
    """

    kind = "network"

    def __init__(self, message: str, *, request_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "request_sent": self.request_sent}

    def _default_advice(self) -> str:
        return "Instagram could not be reached; try again in a moment."


DEFAULT_RETRY_AFTER_S = 300.0
_HASHTAG_ADVICE = "The account searched 30 different hashtags in the last 7 days; wait before searching new ones."
_PERMISSION_ADVICE = "The app lacks a permission for this action; reconnect the account granting all permissions."


class RateLimitedError(InstagramError):
    """A call-rate limit (app, user, BUC) or anti-spam throttle. Do not retry before ``retry_after_s``."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = float(retry_after_s if retry_after_s is not None else DEFAULT_RETRY_AFTER_S)

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "retry_after_s": self.retry_after_s}

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "retry_after_s": self.retry_after_s}

    def _default_advice(self) -> str:
        return f"Too many calls to Instagram; wait about {round(self.retry_after_s / 60) or 1} min and retry."


class AuthError(InstagramError):
    """The token is invalid, expired or revoked: the account must be authorised again."""

    kind = "auth"

    def _default_advice(self) -> str:
        return "The Instagram authorisation is no longer valid; connect the account again."


class PermissionDeniedError(InstagramError):
    """The token lacks a permission / capability, or the account is restricted."""

    kind = "permission"

    def _default_advice(self) -> str:
        return _PERMISSION_ADVICE


class InvalidRequestError(InstagramError):
    """The request itself is wrong (parameters, ids, unsupported operation). Not retryable as is."""

    kind = "invalid_request"


class InvalidMediaError(InvalidRequestError):
    """The media or its caption/tags break Instagram's rules: fix the media, then create a new container."""

    kind = "invalid_media"

    def _default_advice(self) -> str:
        return "Instagram rejected the media; check it against the media specifications."


class QuotaExhaustedError(InstagramError):
    """The account published its maximum number of posts in the rolling 24 hours."""

    kind = "quota_exhausted"

    def _default_advice(self) -> str:
        return "The account reached its publishing limit for the last 24 hours; publish later."


class NotReadyError(InstagramError):
    """The container has not finished processing: poll its status, then publish."""

    kind = "not_ready"
    retryable = False  # retried by polling the container, not by repeating the call

    def _default_advice(self) -> str:
        return "The media is still being processed; wait until it is FINISHED before publishing."


class ContainerExpiredError(InstagramError):
    """The container is gone (expired after 24 h or unknown): create a new one."""

    kind = "container_expired"

    def _default_advice(self) -> str:
        return "The media container expired or no longer exists; create a new one."


class HashtagLimitError(InstagramError):
    """30 unique hashtags per 7 days reached (code 18 on hashtag search; UNCONFIRMED by Meta)."""

    kind = "hashtag_limit"

    def _default_advice(self) -> str:
        return _HASHTAG_ADVICE


class UnexpectedResponseError(InstagramError):
    """A successful HTTP status with a body we could not understand."""

    kind = "unexpected_response"

    def _default_advice(self) -> str:
        return "Instagram answered with something unexpected; try again later or report it."


class OAuthError(InstagramError):
    """A failed code/token exchange (``{"error_type","code","error_message"}`` or a Graph 100/191 error).

    The user usually has to start the login again (code used or expired).
    """

    kind = "oauth"

    @property
    def is_configuration_error(self) -> bool:
        return isinstance(self, OAuthConfigError)

    def _default_advice(self) -> str:
        return "The Instagram login could not be completed; start the connection again."


class OAuthConfigError(OAuthError):
    """The exchange failed because of our configuration (app id/secret, redirect URI), not the user."""

    kind = "oauth_config"

    def _default_advice(self) -> str:
        return "The app configuration is wrong (app id, app secret or redirect URI); an operator must fix it."


# --------------------------------------------------------------------------------------------------------
# The classification table


@dataclass(frozen=True, slots=True)
class _Rule:
    cls: type[InstagramError]
    codes: tuple[int, ...] | range
    subcode: int | None = None  # None: any subcode
    ops: tuple[Operation, ...] = ()  # empty: any operation
    retry_after_s: float | None = None  # default wait for rate limits

    def matches(self, code: int, subcode: int | None, op: Operation | None) -> bool:
        if code not in self.codes:
            return False
        if self.subcode is not None and self.subcode != subcode:
            return False
        return not self.ops or op in self.ops


_R = _Rule
_OP = Operation

# Ordered, first match wins: (code, subcode) rules before (code, any) rules.
_RULES: tuple[_Rule, ...] = (
    # --- subcode-specific publishing errors [EC]
    _R(TransientError, (-2,), 2207003),  # media download took too long
    _R(ContainerExpiredError, (-2,), 2207020),  # media expired
    _R(TransientError, (-1,), 2207001),  # Instagram server error
    _R(TransientError, (-1,), 2207032),  # create media failed, re-create
    _R(ContainerExpiredError, (-1,), 2207053),  # unknown upload error: new container
    _R(InvalidRequestError, (-1,), 2207073),  # media type not supported (DELETE)
    _R(InvalidMediaError, (1,), 2207057),  # thumbnail offset
    _R(RateLimitedError, (4,), 2207051, retry_after_s=3600.0),  # anti-spam: long backoff
    _R(QuotaExhaustedError, (9,), 2207042),
    _R(ContainerExpiredError, (24,), 2207006),  # media not found
    _R(ContainerExpiredError, (24,), 2207008),  # builder does not exist or expired
    _R(PermissionDeniedError, (25,), 2207050),  # account restricted
    _R(InvalidMediaError, (100,), 2207028),  # carousel size
    _R(InvalidMediaError, (100,), 2207040),  # too many @-tags
    _R(InvalidMediaError, (100,), 2207089),  # carousel item published standalone
    _R(TransientError, (100,), 33, ops=(_OP.READ,)),  # fresh objects unreadable for a while (OBS)
    _R(OAuthError, (100,), 36007),  # FB: authorization code expired
    _R(OAuthError, (100,), 36009),  # FB: authorization code used
    # --- OAuth exchanges on graph.facebook.com
    _R(OAuthConfigError, (191,)),  # redirect_uri not allowed / not absolute
    _R(OAuthConfigError, (101,)),  # missing client_id
    _R(OAuthError, (100,), ops=(_OP.OAUTH,)),  # e.g. "Error validating verification code"
    # --- hashtag search (code 18: UNCONFIRMED, from WordPress plugins)
    _R(HashtagLimitError, (18,), ops=(_OP.HASHTAG_SEARCH,)),
    # --- code-level rules
    _R(TransientError, (1, 2)),
    _R(TransientError, (-1, -2)),
    _R(RateLimitedError, (4, 17, 32, 341, 613), retry_after_s=300.0),
    _R(RateLimitedError, (80001, 80002, 80006), retry_after_s=900.0),
    _R(RateLimitedError, (368,), retry_after_s=3600.0),  # temporarily blocked for policy violations
    _R(AuthError, (190, 102)),
    _R(PermissionDeniedError, (3, 10)),
    _R(PermissionDeniedError, range(200, 300)),
    _R(ContainerExpiredError, (24,)),
    _R(QuotaExhaustedError, (9,)),
    _R(NotReadyError, (9007,)),
    _R(InvalidMediaError, (36000, 36001, 36003, 36004, 352, 9004)),
    _R(InvalidRequestError, (100, 506)),
)

# Advice for people, keyed (code, subcode), (None, subcode) or (code, None). error_user_msg wins over this.
_ADVICE: Mapping[tuple[int | None, int | None], str] = {
    (None, 2207003): "Instagram took too long to download the media; try again, or use a smaller file.",
    (None, 2207020): "The media container expired; create a new one.",
    (None, 2207001): "Instagram had a server error; try again.",
    (None, 2207032): "Instagram could not create the media; try again.",
    (None, 2207053): "The video upload failed; create a new container and upload it again.",
    (None, 2207057): "The thumbnail offset must be at least 0 and shorter than the video.",
    (None, 2207051): "Instagram restricted this activity as possible spam; slow down and retry much later.",
    (None, 2207042): "The account reached its publishing limit for the last 24 hours; publish later.",
    (None, 2207006): "The media was not found; the token may have expired; create a new container.",
    (None, 2207008): "The media container does not exist or expired; create a new one.",
    (None, 2207050): "The Instagram account is restricted; its owner must resolve it in the Instagram app.",
    (None, 2207023): "The media type is unknown; use IMAGE (default), REELS, STORIES, CAROUSEL or VIDEO.",
    (None, 2207028): "A carousel needs at least 2 and at most 10 photos or videos.",
    (None, 2207040): "The caption tags too many accounts; use at most 20 @-mentions.",
    (None, 2207089): "A carousel item cannot be published on its own; publish the carousel.",
    (None, 2207026): "The video format is not supported; use MOV or MP4.",
    (None, 2207052): "Instagram could not fetch the media from its URL; the URL must be public and valid.",
    (None, 2207027): "The media is still being processed; wait until it is FINISHED before publishing.",
    (None, 2207004): "The image is too large; it must be at most 8 MB.",
    (None, 2207005): "The image format is not supported; use JPEG.",
    (None, 2207009): "The image aspect ratio must be between 4:5 and 1.91:1.",
    (None, 2207010): "The caption is too long: at most 2200 characters, 30 hashtags and 20 @-mentions.",
    (None, 36007): "The authorization code expired; start the connection again.",
    (None, 36009): "The authorization code was already used; start the connection again.",
    (None, 458): "The user removed the app from their account; connect the account again.",
    (None, 459): "The account is checkpointed; the user must log in to Instagram/Facebook, then reconnect.",
    (None, 460): "The password changed, which revoked the authorisation; connect the account again.",
    (None, 463): "The access token expired; connect the account again.",
    (None, 464): "The user has not confirmed their account; they must confirm it, then reconnect.",
    (None, 467): "The access token is invalid; connect the account again.",
    (None, 492): "The user's role on the Page changed; connect the account again.",
    (1, None): "Instagram had a temporary problem; try again in a moment.",
    (2, None): "Instagram had a temporary problem; try again in a moment.",
    (4, None): "The app made too many calls to Instagram; wait and retry.",
    (17, None): "This account made too many calls to Instagram; wait and retry.",
    (18, None): _HASHTAG_ADVICE,
    (80002, None): "Too many calls for this Instagram account; wait and retry.",
    (10, None): _PERMISSION_ADVICE,
    (190, None): "The Instagram authorisation is no longer valid; connect the account again.",
    (368, None): "The account is temporarily blocked for policy reasons; retry later.",
    (506, None): "This looks like a duplicate post; Instagram refused it.",
    (9004, None): "Instagram could not fetch the media from its URL; the URL must be public and valid.",
    (36000, None): "The image is too large; it must be at most 8 MB.",
    (36001, None): "The image format is not supported; use JPEG.",
    (36003, None): "The image aspect ratio must be between 4:5 and 1.91:1.",
    (36004, None): "The caption is too long: at most 2200 characters, 30 hashtags and 20 @-mentions.",
    (352, None): "The video format is not supported; use MOV or MP4.",
}

# OAuth-envelope messages (lower-cased substrings) that point at our configuration rather than the user.
_OAUTH_CONFIG_MARKERS = (
    "invalid platform app",
    "redirect_uri",
    "redirect uri",
    "invalid client",
    "client_id",
)
_OAUTH_ADVICE = {
    "invalid platform app": "The Instagram app id/secret are wrong (probably the Facebook app's were used); "
    "an operator must configure the Instagram app credentials.",
    "matching code was not found or was already used": "The authorization code expired or was already used; "
    "start the connection again.",
}


def advice_for_subcode(subcode: int, code: int | None = None) -> str:
    """Advice for a bare subcode, e.g. the one a container's ``status`` text carries on ERROR."""
    for key in ((code, subcode), (None, subcode)):
        if key in _ADVICE:
            return _ADVICE[key]
    return "Check the media against Instagram's specifications and try again."


def classify(
    code: int | None,
    subcode: int | None = None,
    *,
    op: Operation | None = None,
    http_status: int | None = None,
    is_transient: bool | None = None,
) -> tuple[type[InstagramError], float | None]:
    """The exception class for a Graph error (and the default wait for rate limits)."""
    if code is not None:
        for rule in _RULES:
            if rule.matches(code, subcode, op):
                return rule.cls, rule.retry_after_s
    if is_transient:
        return TransientError, None
    if http_status is not None and http_status >= 500:
        return TransientError, None
    if code is None and http_status == 429:
        return RateLimitedError, None
    if code is None and http_status in (401,):
        return AuthError, None
    return InvalidRequestError, None


# --------------------------------------------------------------------------------------------------------
# Parsing


class ResponseLike(Protocol):
    """What ``parse_error`` needs from an HTTP response (an ``httpx.Response`` fits)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _regain_s(headers: Mapping[str, str]) -> float | None:
    try:
        usage = Usage.from_headers(headers)
    except (ValueError, TypeError):
        return None
    regain = usage.regain_after_s
    return regain if regain > 0 else None


def _oauth_error(message: str, error_type: str | None, code: int | None, status: int) -> OAuthError:
    low = message.lower()
    cls: type[OAuthError] = OAuthConfigError if any(m in low for m in _OAUTH_CONFIG_MARKERS) else OAuthError
    advice = next((text for marker, text in _OAUTH_ADVICE.items() if marker in low), None)
    return cls(
        message,
        code=code,
        user_msg=advice,
        http_status=status,
        error_type=error_type,
    )


def parse_error(response: ResponseLike, *, op: Operation | None = None) -> InstagramError:
    """The exception for a failed response: Graph envelope, OAuth envelope or a non-JSON body."""
    status = response.status_code
    body: Any
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None

    if isinstance(body, dict):
        # OAuth envelope of api.instagram.com/oauth/access_token (and the legacy {"meta":{...}} form)
        oauth = body if "error_message" in body else body.get("meta")
        if isinstance(oauth, dict) and "error_message" in oauth:
            return _oauth_error(
                str(oauth.get("error_message") or "OAuth error"),
                _as_str(oauth.get("error_type")),
                _as_int(oauth.get("code")),
                status,
            )
        err = body.get("error")
        if isinstance(err, dict):
            return _graph_error(err, response, op)
        if isinstance(err, str):  # {"error":"invalid_request","error_description":"..."}
            desc = _as_str(body.get("error_description")) or err
            if op is Operation.OAUTH:
                return _oauth_error(desc, err, None, status)
            cls, _ = classify(None, http_status=status)
            return _build(cls, desc, None, response, http_status=status)

    text = response.content[:200].decode("utf-8", "replace").strip() if response.content else ""
    message = f"HTTP {status}" + (f": {text}" if text and body is None else "")
    cls, _ = classify(None, op=op, http_status=status)
    return _build(cls, message, None, response, http_status=status)


def _graph_error(err: Mapping[str, Any], response: ResponseLike, op: Operation | None) -> InstagramError:
    code = _as_int(err.get("code"))
    subcode = _as_int(err.get("error_subcode"))
    transient_flag = err.get("is_transient")
    is_transient = transient_flag if isinstance(transient_flag, bool) else None
    cls, default_wait = classify(code, subcode, op=op, http_status=response.status_code, is_transient=is_transient)
    message = _as_str(err.get("message")) or f"Graph API error {code}"
    kwargs: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "user_title": _as_str(err.get("error_user_title")),
        "user_msg": _as_str(err.get("error_user_msg")),
        "fbtrace_id": _as_str(err.get("fbtrace_id")),
        "http_status": response.status_code,
        "is_transient": is_transient,
        "error_type": _as_str(err.get("type")),
    }
    return _build(cls, message, default_wait, response, **kwargs)


def _build(
    cls: type[InstagramError],
    message: str,
    default_wait: float | None,
    response: ResponseLike,
    **kwargs: Any,
) -> InstagramError:
    if issubclass(cls, RateLimitedError):
        wait = _regain_s(response.headers) or _retry_after_header(response.headers) or default_wait
        return cls(message, retry_after_s=wait, **kwargs)
    return cls(message, **kwargs)
