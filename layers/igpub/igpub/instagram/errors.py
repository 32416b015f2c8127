"""The Instagram error hierarchy and ONE table that classifies Graph errors by ``code`` / ``error_subcode``
(never by HTTP status).

Each row of ``ERROR_TABLE`` decides, for the errors it matches, the exception class (what igpub does:
retry, wait, re-authorise, fail), the default wait of a rate limit, whether a ``POST /media`` may be sent
again (Instagram says nothing was created), and the advice a person reads. Adding a code is adding one row.
Sources: Meta's Instagram error codes page
(https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/error-codes)
and Graph API error handling (https://developers.facebook.com/docs/graph-api/guides/error-handling),
unless a row says otherwise.

Turning an HTTP response into one of these exceptions lives in ``igpub.instagram.error_parsing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "ERROR_TABLE",
    "AuthError",
    "ContainerExpiredError",
    "ErrorRow",
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
    "TransientError",
    "UnexpectedResponseError",
    "advice_for_subcode",
    "classify",
    "row_for",
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
        table_advice: str | None = None,
        resend_safe: bool = False,
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
        # the advice of the error table's row that classified it ("" for a row without advice of its own;
        # None: not classified through the table, looked up on first use)
        self.table_advice = table_advice
        # Instagram said nothing was created: the same POST /media may be sent again (from the table's row)
        self.resend_safe = resend_safe

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
            "table_advice": self.table_advice,
            "resend_safe": self.resend_safe,
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
        """A sentence a person can act on: Instagram's localized ``error_user_msg`` first, then the advice of
        the table's row (looked up when the error was built by hand), then the class's own."""
        if self.table_advice is None and self.code is not None:
            self.table_advice = row_for(self.code, self.subcode).advice
        return self.user_msg or self.table_advice or self._default_advice()

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
    InstagramError.__init__(
        err, message, **{k: v for k, v in fields.items() if k not in ("retry_after_s", "request_sent")}
    )
    if isinstance(err, RateLimitedError):
        err.retry_after_s = float(fields.get("retry_after_s") or DEFAULT_RETRY_AFTER_S)
    if isinstance(err, NetworkError):
        err.request_sent = bool(fields.get("request_sent", True))
    return err


class TransientError(InstagramError):
    """Instagram failed for a reason that usually goes away: retry with backoff (reads freely)."""

    kind = "transient"

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
        return "The app lacks a permission for this action; reconnect the account granting all permissions."


class InvalidRequestError(InstagramError):
    """The request itself is wrong (parameters, ids, unsupported operation), or Instagram said that
    retrying will not help (``is_transient: false``). Never sent again as is."""

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

    kind = "not_ready"  # waited out by polling the container, never by repeating the call

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
        return "The account searched 30 different hashtags in the last 7 days; wait before searching new ones."


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
# The table


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """One decision: the errors it matches, the class they become, and what a person is told."""

    cls: type[InstagramError]
    codes: tuple[int, ...] | range
    subcode: int | None = None  # None: any subcode
    ops: tuple[Operation, ...] = ()  # empty: any operation
    advice: str | None = None  # None: the class's own advice
    wait_s: float | None = None  # rate limits: the wait when Instagram's headers give none
    resend_safe: bool = False  # Instagram guarantees nothing was created: POST /media may be sent again
    # a transient row whose errors Instagram marks ``is_transient: false`` although they pass (reads only)
    transient_despite_flag: bool = False

    def matches(self, code: int, subcode: int | None, op: Operation | None) -> bool:
        if code not in self.codes:
            return False
        if self.subcode is not None and self.subcode != subcode:
            return False
        return not self.ops or op in self.ops


_R = ErrorRow
_ANY_CODE = range(-(2**31), 2**31)  # rows keyed by a subcode that arrives with varying codes
_OP = Operation
_TAG_ADVICE = "The caption tags too many accounts; use at most 20 @-mentions."

# Ordered, first match wins: (code, subcode) rows before (code, any) rows.
ERROR_TABLE: tuple[ErrorRow, ...] = (
    # --- publishing errors with a subcode (Meta's error codes page)
    _R(TransientError, (-2,), 2207003, resend_safe=True,
       advice="Instagram took too long to download the media; try again, or use a smaller file."),
    _R(ContainerExpiredError, (-2,), 2207020, advice="The media container expired; create a new one."),
    _R(TransientError, (-1,), 2207001, resend_safe=True, advice="Instagram had a server error; try again."),
    _R(TransientError, (-1,), 2207032, resend_safe=True, advice="Instagram could not create the media; try again."),
    _R(ContainerExpiredError, (-1,), 2207053,
       advice="The video upload failed; create a new container and upload it again."),
    # "Media Type Not Supported" answers a DELETE of media the API cannot delete (IG Media reference,
    # https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media)
    _R(InvalidRequestError, (-1,), 2207073, advice="Instagram cannot delete this kind of media through the API."),
    _R(InvalidMediaError, (1,), 2207057, advice="The thumbnail offset must be at least 0 and shorter than the video."),
    _R(RateLimitedError, (4,), 2207051, wait_s=3600.0,
       advice="Instagram restricted this activity as possible spam; slow down and retry much later."),
    _R(ContainerExpiredError, (24,), 2207006,
       advice="The media was not found; the token may have expired; create a new container."),
    _R(ContainerExpiredError, (24,), 2207008,
       advice="The media container does not exist or expired; create a new one."),
    _R(PermissionDeniedError, (25,), 2207050,
       advice="The Instagram account is restricted; its owner must resolve it in the Instagram app."),
    _R(InvalidRequestError, (100,), 2207023,
       advice="The media type is unknown; use IMAGE (default), REELS, STORIES, CAROUSEL or VIDEO."),
    _R(InvalidMediaError, (100,), 2207028, advice="A carousel needs at least 2 and at most 10 photos or videos."),
    # Product tags (Meta's error codes page: "product tag position / required / invalid product"; the tags
    # themselves: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media)
    _R(InvalidRequestError, (100,), 2207035,
       advice="A product tag's position is invalid: x and y must be between 0.0 and 1.0 (video tags take none)."),
    _R(InvalidRequestError, (100,), 2207036,
       advice="Product tags on an image need a position (x and y); add them or remove the tags."),
    _R(InvalidRequestError, (100,), 2207037,
       advice="A tagged product is not in the account's approved catalog; check the product id."),
    _R(InvalidMediaError, (100,), 2207040, advice=_TAG_ADVICE),
    _R(InvalidMediaError, (100,), 2207089,
       advice="A carousel item cannot be published on its own; publish the carousel."),
    # Fresh containers and media unreadable for a while (100/33 "Unsupported get request", is_transient false)
    # although POSTs succeed and the object is readable seconds later: a read, retried despite the flag
    # (observed 2026-05: https://github.com/gitroomhq/postiz-app/issues/1562)
    _R(TransientError, (100,), 33, ops=(_OP.READ,), transient_despite_flag=True),
    _R(OAuthError, (100,), 36007, advice="The authorization code expired; start the connection again."),
    _R(OAuthError, (100,), 36009, advice="The authorization code was already used; start the connection again."),
    # --- subcodes seen in container status texts and envelopes of real clients (not on Meta's page; the
    # advice follows what postiz-app tells its users: https://github.com/gitroomhq/postiz-app/pull/1992)
    _R(InvalidMediaError, _ANY_CODE, 2207077,
       advice="Instagram could not download the video; make sure its URL is public, answers quickly and "
       "serves an MP4 or MOV file within the size limit."),
    _R(InvalidMediaError, _ANY_CODE, 2207082,
       advice="Instagram could not process the video; if it has no sound track but audio was added, "
       "re-encode it with an AAC audio track (or set its original volume to 0) and post again."),
    # Trial reels (trial_params, Instagram Platform changelog 2025-12-03:
    # https://developers.facebook.com/documentation/instagram-platform/changelog); the subcode's exact
    # wording is not published by Meta (UNCONFIRMED), so the advice names both ways out.
    _R(InvalidRequestError, _ANY_CODE, 2207081,
       advice="Instagram refused the trial reel: the account may not be eligible for trial reels; post it "
       "without trial_params (as a normal Reel) or check the account's eligibility in the Instagram app."),
    # --- OAuth exchanges on graph.facebook.com
    _R(OAuthConfigError, (191,)),  # redirect_uri not allowed / not absolute
    _R(OAuthConfigError, (101,)),  # missing client_id
    _R(OAuthError, (100,), ops=(_OP.OAUTH,)),  # e.g. "Error validating verification code"
    # --- hashtag search: code 18 (UNCONFIRMED by Meta; the code WordPress feed plugins handle)
    _R(HashtagLimitError, (18,), ops=(_OP.HASHTAG_SEARCH,)),
    # --- token errors with a subcode (Graph API error handling page)
    _R(AuthError, (190,), 458, advice="The user removed the app from their account; connect the account again."),
    _R(AuthError, (190,), 459,
       advice="The account is checkpointed; the user must log in to Instagram/Facebook, then reconnect."),
    _R(AuthError, (190,), 460,
       advice="The password changed, which revoked the authorisation; connect the account again."),
    _R(AuthError, (190,), 463, advice="The access token expired; connect the account again."),
    _R(AuthError, (190,), 464,
       advice="The user has not confirmed their account; they must confirm it, then reconnect."),
    _R(AuthError, (190,), 467, advice="The access token is invalid; connect the account again."),
    _R(AuthError, (190,), 492, advice="The user's role on the Page changed; connect the account again."),
    # --- code-level rows
    _R(TransientError, (1, 2), resend_safe=True),  # unknown / service error (nothing created)
    _R(TransientError, (-1, -2)),  # other server-side publishing errors
    _R(RateLimitedError, (4,), wait_s=300.0, advice="The app made too many calls to Instagram; wait and retry."),
    _R(RateLimitedError, (17,), wait_s=300.0, advice="This account made too many calls to Instagram; wait and retry."),
    _R(RateLimitedError, (32, 341, 613), wait_s=300.0),
    _R(RateLimitedError, (80002,), wait_s=900.0,
       advice="Too many calls for this Instagram account; wait and retry."),
    _R(RateLimitedError, (80001, 80006), wait_s=900.0),  # business use case limits of Pages / Messenger
    _R(RateLimitedError, (368,), wait_s=3600.0,
       advice="The account is temporarily blocked for policy reasons; retry later."),
    _R(AuthError, (190, 102)),
    _R(PermissionDeniedError, (3, 10)),
    _R(PermissionDeniedError, range(200, 300)),
    _R(ContainerExpiredError, (24,)),
    _R(QuotaExhaustedError, (9,)),
    _R(NotReadyError, (9007,)),
    _R(InvalidMediaError, (9004,),
       advice="Instagram could not fetch the media from its URL; the URL must be public and valid."),
    _R(InvalidMediaError, (36000,), advice="The image is too large; it must be at most 8 MB."),
    _R(InvalidMediaError, (36001,), advice="The image format is not supported; use JPEG."),
    _R(InvalidMediaError, (36003,), advice="The image aspect ratio must be between 4:5 and 1.91:1."),
    _R(InvalidMediaError, (36004,),
       advice="The caption is too long: at most 2200 characters, 30 hashtags and 20 @-mentions."),
    _R(InvalidMediaError, (352,), advice="The video format is not supported; use MOV or MP4."),
    _R(InvalidRequestError, (506,), advice="This looks like a duplicate post; Instagram refused it."),
    _R(InvalidRequestError, (100,),
       advice="Instagram refused a parameter of the request (its message names it); fix the post's options."),
)

# The subcodes that come with a code-level row: a container's ``status`` text carries only the subcode.
_SUBCODE_CODES: dict[int, int] = {
    2207004: 36000, 2207005: 36001, 2207009: 36003, 2207010: 36004, 2207026: 352, 2207052: 9004,
    2207027: 9007, 2207042: 9,
}

# Used instead of a transient row's decision when the envelope says ``is_transient: false``.
NOT_TRANSIENT = ErrorRow(
    InvalidRequestError,
    (),
    advice="Instagram reported an error it marks as not temporary, so igpub did not retry it; check the "
    "post's media and options, and give Instagram's fbtrace_id to Meta support if it persists.",
)
_UNKNOWN = ErrorRow(InvalidRequestError, ())
_HTTP_5XX = ErrorRow(TransientError, ())
_HTTP_429 = ErrorRow(RateLimitedError, ())
_HTTP_401 = ErrorRow(AuthError, ())


def row_for(
    code: int | None,
    subcode: int | None = None,
    *,
    op: Operation | None = None,
    http_status: int | None = None,
    is_transient: bool | None = None,
) -> ErrorRow:
    """The row that decides a Graph error. ``is_transient: false`` is honoured: Instagram saying that
    retrying will not help turns a transient row into ``NOT_TRANSIENT`` (never retried, whatever the code),
    except the one row known to be mislabelled (100/33 on reads). Rate limits and the publishing quota are
    waits, not retries, and stay as they are."""
    if code is not None:
        for row in ERROR_TABLE:
            if row.matches(code, subcode, op):
                if is_transient is False and issubclass(row.cls, TransientError) and not row.transient_despite_flag:
                    return NOT_TRANSIENT
                return row
    if is_transient:
        return _HTTP_5XX
    if http_status is not None and http_status >= 500:
        return NOT_TRANSIENT if is_transient is False else _HTTP_5XX
    if code is None and http_status == 429:
        return _HTTP_429
    if code is None and http_status == 401:
        return _HTTP_401
    return _UNKNOWN


def classify(
    code: int | None,
    subcode: int | None = None,
    *,
    op: Operation | None = None,
    http_status: int | None = None,
    is_transient: bool | None = None,
) -> tuple[type[InstagramError], float | None]:
    """The exception class for a Graph error (and the default wait for rate limits)."""
    row = row_for(code, subcode, op=op, http_status=http_status, is_transient=is_transient)
    return row.cls, row.wait_s


def advice_for_subcode(subcode: int, code: int | None = None) -> str:
    """Advice for a bare subcode, e.g. the one a container's ``status`` text carries on ERROR."""
    code = code if code is not None else _SUBCODE_CODES.get(subcode)
    for row in ERROR_TABLE:
        if row.subcode == subcode and (code is None or code in row.codes):
            return row.advice or row.cls("")._default_advice()
    if code is not None:
        row = row_for(code, subcode)
        if row is not _UNKNOWN:
            return row.advice or row.cls("")._default_advice()
    return "Check the media against Instagram's specifications and try again."
