"""Turn a failed HTTP response into an ``InstagramError``: the Graph envelope
(``{"error":{"code","error_subcode","is_transient",...}}``), the OAuth envelope of
``api.instagram.com/oauth/access_token`` (``{"error_type","code","error_message"}``), or a non-JSON body.

The decision itself (class, wait, advice) is the row of ``igpub.instagram.errors.ERROR_TABLE`` that
matches. This module does not import httpx: it takes anything shaped like a response (``ResponseLike``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from igpub.instagram.errors import (
    ErrorRow,
    InstagramError,
    OAuthConfigError,
    OAuthError,
    Operation,
    RateLimitedError,
    row_for,
)
from igpub.instagram.models import Usage

__all__ = ["ResponseLike", "parse_error"]

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
    return cls(message, code=code, user_msg=advice, http_status=status, error_type=error_type)


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
            return _build(desc, response, row_for(None, http_status=status), http_status=status)

    text = response.content[:200].decode("utf-8", "replace").strip() if response.content else ""
    message = f"HTTP {status}" + (f": {text}" if text and body is None else "")
    return _build(message, response, row_for(None, op=op, http_status=status), http_status=status)


def _graph_error(err: Mapping[str, Any], response: ResponseLike, op: Operation | None) -> InstagramError:
    code = _as_int(err.get("code"))
    subcode = _as_int(err.get("error_subcode"))
    transient_flag = err.get("is_transient")
    is_transient = transient_flag if isinstance(transient_flag, bool) else None
    row = row_for(code, subcode, op=op, http_status=response.status_code, is_transient=is_transient)
    return _build(
        _as_str(err.get("message")) or f"Graph API error {code}",
        response,
        row,
        code=code,
        subcode=subcode,
        user_title=_as_str(err.get("error_user_title")),
        user_msg=_as_str(err.get("error_user_msg")),
        fbtrace_id=_as_str(err.get("fbtrace_id")),
        http_status=response.status_code,
        is_transient=is_transient,
        error_type=_as_str(err.get("type")),
    )


def _build(message: str, response: ResponseLike, row: ErrorRow, **kwargs: Any) -> InstagramError:
    # "" (not None): the row was found and has no advice of its own, so the class's advice applies
    kwargs.update(table_advice=row.advice or "", resend_safe=row.resend_safe)
    if issubclass(row.cls, RateLimitedError):
        wait = _regain_s(response.headers) or _retry_after_header(response.headers) or row.wait_s
        return row.cls(message, retry_after_s=wait, **kwargs)
    cls: type[InstagramError] = row.cls
    return cls(message, **kwargs)
