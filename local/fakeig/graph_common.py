"""Shared pieces of the fake Graph API: auth context, field selection, cursor paging."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fakeig.http import (
    GraphError,
    Request,
    invalid_param,
    parse_fields,
    unsupported,
)
from fakeig.state import IGUser, Token

if TYPE_CHECKING:
    pass


IG_KINDS = ("ig_short", "ig_long")


FB_KINDS = ("fb_short", "fb_long", "fb_page")


FB_USER_KINDS = ("fb_short", "fb_long")


@dataclass
class Auth:
    token: Token
    user: IGUser


def truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


def require(method: str, expected: str, object_id: str) -> None:
    if method != expected:
        raise unsupported(method, object_id)


def pick(values: dict[str, Any], fields: str | None, default: str, node_type: str) -> dict[str, Any]:
    wanted = parse_fields(fields or default)
    out: dict[str, Any] = {}
    for name in wanted:
        if name not in values:
            raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})")
        if values[name] is not None:
            out[name] = values[name]
    if "id" in values and "id" not in out:
        out["id"] = values["id"]
    return out


def parse_list(value: Any, name: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise invalid_param(f"The parameter {name} is not a valid JSON array.") from None
        if not isinstance(parsed, list):
            raise invalid_param(f"The parameter {name} must be an array.")
        return parsed
    return [s.strip() for s in text.split(",") if s.strip()]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError):
        raise invalid_param("Invalid cursor.") from None


def page_limit(req: Request, default: int, maximum: int) -> int:
    try:
        value = int(req.param("limit") or default)
    except (TypeError, ValueError):
        raise invalid_param("limit must be an integer.") from None
    return max(1, min(value, maximum))


def paged(req: Request, items: list[dict[str, Any]], default: int, maximum: int,
          before: bool = True) -> dict[str, Any]:
    offset = decode_cursor(req.param("after"))
    limit = page_limit(req, default, maximum)
    page = items[offset : offset + limit]
    out: dict[str, Any] = {"data": page}
    cursors: dict[str, str] = {}
    if before:
        cursors["before"] = encode_cursor(offset)
    has_more = offset + limit < len(items)
    if page:
        cursors["after"] = encode_cursor(offset + limit)
    if page or before:
        out["paging"] = {"cursors": cursors}
    if has_more:
        params = {k: v for k, v in req.params.items() if isinstance(v, str)}
        params["after"] = cursors["after"]
        params["limit"] = str(limit)
        host = req.header("host") or "127.0.0.1"
        out["paging"]["next"] = f"http://{host}/{req.host}{req.path}?{urlencode(params)}"
    return out
