"""Fetch a ``prepare: true`` media URL without becoming a proxy into the network igpub runs in (SSRF).

Rules, checked on the first request and again on every redirect:

* https only (plain http only for a loopback host, and only where ``AllowHttpMedia`` already allows it: the
  local stack's own media host);
* the host name is resolved here, and **every** address it resolves to must be public (``is_global``): no
  loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata
  service 169.254.169.254, fe80::/10), shared (100.64/10), multicast, reserved or unspecified address, and
  IPv4-mapped IPv6 forms of them;
* the connection goes to the address that was checked (the URL's host is kept for the ``Host`` header and for
  TLS: SNI and certificate checks), so a DNS answer that changes between check and connect (rebinding) does
  not matter;
* at most ``MAX_REDIRECTS`` redirects, a size cap (declared ``Content-Length`` and bytes counted), and a
  deadline for the whole fetch.

A refused URL raises :class:`FetchRefused` before any byte is requested from the refused address.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

__all__ = ["MAX_REDIRECTS", "FetchRefused", "Fetched", "fetch", "public_addresses"]

MAX_REDIRECTS = 5
Resolver = Callable[..., list[tuple[Any, ...]]]


class FetchRefused(ValueError):
    """The URL is not fetched (the message says why, without credentials or query strings)."""


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    url: str  # the final URL (after redirects)


def _shown(url: str) -> str:
    """The URL without its query and credentials (presigned URLs carry signatures)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.hostname or ''}{f':{p.port}' if p.port else ''}{p.path}"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def public_addresses(host: str, port: int, *, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """The addresses ``host`` resolves to, all public; raises :class:`FetchRefused` if any is not."""
    try:
        literal = _ip(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchRefused(f"{host} does not resolve ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchRefused(f"{host} does not resolve")
    for a in addresses:
        ip = _ip(a)
        if not ip.is_global or ip.is_multicast:
            raise FetchRefused(
                f"{host} resolves to {ip}, which is not a public address; igpub fetches public URLs only"
            )
    return addresses


def _loopback_only(host: str, port: int, resolver: Resolver) -> str | None:
    """The loopback address of ``host`` when every address it has is loopback (the local stack)."""
    try:
        literal = _ip(host)
        addresses = [literal]
    except ValueError:
        try:
            addresses = [_ip(str(i[4][0])) for i in resolver(host, port, type=socket.SOCK_STREAM)]
        except (socket.gaierror, UnicodeError):
            return None
    if addresses and all(a.is_loopback for a in addresses):
        return str(addresses[0])
    return None


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float = 30.0,
    allow_loopback_http: bool = False,
    resolver: Resolver = socket.getaddrinfo,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """GET ``url`` under the rules above. ``allow_loopback_http`` is ``Settings.allow_http_media`` (the local
    stack): then, and only then, ``http://127.0.0.1...`` (or another loopback host) is fetched."""
    deadline = time.monotonic() + timeout_s
    current = url
    with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, transport=transport) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            scheme = parts.scheme.lower()
            host = parts.hostname or ""
            if not host:
                raise FetchRefused(f"{_shown(current)} has no host")
            port = parts.port or (443 if scheme == "https" else 80)
            address: str
            if scheme == "https":
                local = _loopback_only(host, port, resolver) if allow_loopback_http else None
                address = local or public_addresses(host, port, resolver=resolver)[0]
            elif scheme == "http" and allow_loopback_http and (local := _loopback_only(host, port, resolver)):
                address = local
            else:
                raise FetchRefused(f"{_shown(current)}: igpub fetches media over https only")
            ip_host = f"[{address}]" if ":" in address else address
            target = parts._replace(netloc=f"{ip_host}:{port}").geturl()
            headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "igpub-media-fetch"}
            extensions = {"sni_hostname": host} if scheme == "https" else {}
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                    if resp.status_code in (301, 302, 303, 307, 308):
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchRefused(f"{_shown(current)} redirects without a Location")
                        current = urljoin(current, location)
                        continue
                    if resp.status_code != 200:
                        raise FetchRefused(f"{_shown(current)} answered HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchRefused(f"{_shown(current)} is {int(declared):,} bytes; the limit is {max_bytes:,}")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchRefused(f"{_shown(current)} is larger than {max_bytes:,} bytes")
                        if time.monotonic() > deadline:
                            raise FetchRefused(f"{_shown(current)} took longer than {timeout_s:g} s")
                        chunks.append(chunk)
                    return Fetched(b"".join(chunks), resp.headers.get("content-type", ""), current)
            except httpx.TimeoutException:
                raise FetchRefused(f"{_shown(current)} took longer than {timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchRefused(f"{_shown(current)} could not be fetched ({type(exc).__name__})") from None
        raise FetchRefused(f"{_shown(url)} redirects more than {MAX_REDIRECTS} times")
