"""Framework-free request/response objects, body parsing, and the Graph error envelopes."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakeig.config import ErrorSpec

SECRET_PARAMS = frozenset(
    {"access_token", "client_secret", "code", "fb_exchange_token", "appsecret_proof", "input_token"}
)
REDACTED = "REDACTED"


@dataclass
class Request:
    method: str
    raw_path: str  # as received, with query
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    # Filled by parse():
    host: str = ""
    path: str = ""  # after the host prefix, with the version segment, no query
    version: str | None = None
    route: str = ""  # after the host prefix and the version segment
    query: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)
    json_body: Any = None
    body_error: str | None = None

    @property
    def params(self) -> dict[str, Any]:
        merged = dict(self.query)
        merged.update(self.form)
        if isinstance(self.json_body, dict):
            merged.update(self.json_body)
        return merged

    def param(self, name: str) -> Any:
        return self.params.get(name)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"
    drop: bool = False  # close the socket without answering
    # Streamed body (for big generated media): total length plus a chunk iterator factory.
    stream: Any = None
    stream_length: int = 0

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=json.dumps(data).encode(), headers=dict(headers or {}))

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status=status, body=text.encode(), content_type="text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(status=302, body=b"", headers={"Location": location}, content_type="text/html")

    def json_data(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def parse_request(req: Request) -> None:
    """Split the host prefix, the version segment, the query and the body into ``req``."""
    parts = urlsplit(req.raw_path)
    segs = parts.path.split("/", 2)  # ['', host, rest]
    req.host = segs[1] if len(segs) > 1 else ""
    req.path = "/" + (segs[2] if len(segs) > 2 else "")
    req.route = req.path
    rest = req.path.split("/", 2)
    if len(rest) > 1 and _is_version(rest[1]):
        req.version = rest[1]
        req.route = "/" + (rest[2] if len(rest) > 2 else "")
    req.query = dict(parse_qsl(parts.query, keep_blank_values=True))
    ctype = (req.header("content-type") or "").lower()
    if not req.body:
        return
    try:
        if ctype.startswith("application/json"):
            req.json_body = json.loads(req.body)
        elif ctype.startswith("application/x-www-form-urlencoded"):
            req.form = dict(parse_qsl(req.body.decode("utf-8"), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            req.form = _parse_multipart(req.header("content-type") or "", req.body)
    except (ValueError, UnicodeDecodeError) as exc:
        req.body_error = str(exc)


def _is_version(seg: str) -> bool:
    if not seg.startswith("v"):
        return False
    major, dot, minor = seg[1:].partition(".")
    return bool(dot) and major.isdigit() and minor.isdigit()


def version_number(version: str) -> float:
    major, _, minor = version[1:].partition(".")
    return int(major) + int(minor) / 100


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            if part.get_filename() is None:
                out[name] = payload.decode("utf-8", errors="replace")
            else:
                out[name] = payload
    return out


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in SECRET_PARAMS:
            out[key] = REDACTED
        elif isinstance(value, bytes):
            out[key] = f"<{len(value)} bytes>"
        else:
            out[key] = value
    return out


def redact_token(token: str | None) -> str:
    if not token:
        return ""
    return token[:6] + "..."


# ----------------------------------------------------------------------------------------------
# Errors


def fbtrace_id() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(secrets.choice(alphabet) for _ in range(23))


class GraphError(Exception):
    """A Graph API error; rendered as ``{"error": {...}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        *,
        type_: str = "OAuthException",
        is_transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
        http_status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.type = type_
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg
        self.http_status = http_status
        self.headers = headers or {}

    @classmethod
    def from_spec(cls, spec: ErrorSpec) -> GraphError:
        return cls(
            spec.code,
            spec.message,
            spec.subcode,
            type_=spec.type,
            is_transient=spec.is_transient,
            http_status=spec.http_status,
        )

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["is_transient"] = self.is_transient
        if self.user_title is not None:
            err["error_user_title"] = self.user_title
        if self.user_msg is not None:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}

    def response(self) -> Response:
        return Response.json(self.body(), status=self.http_status, headers=self.headers)


class OAuthError(Exception):
    """The api.instagram.com envelope: ``{"error_type", "code", "error_message"}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def response(self) -> Response:
        return Response.json(
            {"error_type": "OAuthException", "code": self.status, "error_message": self.message},
            status=self.status,
        )


def invalid_param(user_msg: str, subcode: int | None = None, title: str = "Invalid parameter") -> GraphError:
    return GraphError(100, "Invalid parameter", subcode, user_title=title, user_msg=user_msg)


def missing_param(name: str) -> GraphError:
    return GraphError(100, f"The parameter {name} is required")


def unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        33,
        type_="GraphMethodException",
    )


def parse_fields(spec: str | None) -> dict[str, str | None]:
    """``"id,children{id,media_url},caption"`` -> ``{"id": None, "children": "id,media_url", ...}``."""
    out: dict[str, str | None] = {}
    if not spec:
        return out
    depth = 0
    token = ""
    for ch in spec + ",":
        if ch == "," and depth == 0:
            token = token.strip()
            if token:
                if "{" in token and token.endswith("}"):
                    name, _, sub = token.partition("{")
                    out[name.strip()] = sub[:-1]
                else:
                    out[token] = None
            token = ""
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        token += ch
    return out
