"""igpub.media.fetch: prepare: true URLs are fetched over https from public addresses only, checked after DNS
resolution and on every redirect; refused URLs are refused before anything is requested from them."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from igpub.media.fetch import MAX_REDIRECTS, FetchRefused, fetch

PUBLIC = "93.184.215.14"
DNS = {
    "cdn.example.com": [PUBLIC],
    "internal.example.com": ["10.1.2.3"],
    "mixed.example.com": [PUBLIC, "192.168.0.7"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "shared.example.com": ["100.64.0.1"],
    "v6.example.com": ["2606:4700::6810:84e5"],
    "localhost": ["127.0.0.1"],
}


def resolver(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
    if host not in DNS:
        raise socket.gaierror(f"unknown host {host}")
    return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in DNS[host]]


class Recorder:
    """A transport that records every request (what would have gone on the network) and answers from routes."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        key = f"{request.headers['host']}{request.url.path}"
        return self.routes.get(key, httpx.Response(404))


def run(url: str, routes: dict[str, httpx.Response] | None = None, **kw: Any) -> tuple[Recorder, Any]:
    rec = Recorder(routes or {})
    try:
        got = fetch(
            url, max_bytes=kw.pop("max_bytes", 1000), resolver=resolver, transport=httpx.MockTransport(rec), **kw
        )
    except FetchRefused as exc:
        return rec, exc
    return rec, got


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/a.png",
        "https://internal.example.com/a.png",  # a DNS name resolving to 10.x
        "https://mixed.example.com/a.png",  # one private address among public ones is enough to refuse
        "https://mapped.example.com/a.png",  # IPv4-mapped IPv6 loopback
        "https://metadata.example.com/a.png",
        "https://shared.example.com/a.png",  # carrier-grade NAT
        "https://[fe80::1]/a.png",
        "https://0.0.0.0/a.png",
        "https://localhost/a.png",
        "http://cdn.example.com/a.png",  # plain http
        "ftp://cdn.example.com/a.png",
        "file:///etc/passwd",
        "https://nowhere.example.com/a.png",  # does not resolve
    ],
)
def test_refused_with_nothing_fetched(url: str) -> None:
    rec, result = run(url, {"cdn.example.com/a.png": httpx.Response(200, content=b"x")})
    assert isinstance(result, FetchRefused), result
    assert rec.seen == []


def test_redirect_to_a_private_address_is_refused_before_following() -> None:
    routes = {"cdn.example.com/a.png": httpx.Response(302, headers={"location": "https://internal.example.com/b.png"})}
    rec, result = run("https://cdn.example.com/a.png", routes)
    assert isinstance(result, FetchRefused) and "10.1.2.3" in str(result)
    assert [r.headers["host"] for r in rec.seen] == ["cdn.example.com"]  # only the first hop went out


def test_redirect_to_the_metadata_address_literal_is_refused() -> None:
    routes = {"cdn.example.com/a.png": httpx.Response(301, headers={"location": "http://169.254.169.254/latest"})}
    rec, result = run("https://cdn.example.com/a.png", routes)
    assert isinstance(result, FetchRefused)
    assert len(rec.seen) == 1


def test_public_https_is_fetched_from_the_checked_address_with_the_name_kept() -> None:
    routes = {
        "cdn.example.com/a.png": httpx.Response(302, headers={"location": "/b.png"}),
        "cdn.example.com/b.png": httpx.Response(200, content=b"PNGDATA", headers={"content-type": "image/png"}),
    }
    rec, got = run("https://cdn.example.com/a.png?sig=secret", routes)
    assert got.data == b"PNGDATA" and got.content_type == "image/png"
    assert [r.url.host for r in rec.seen] == [PUBLIC, PUBLIC]  # connected to the address that was checked
    assert all(r.extensions.get("sni_hostname") == "cdn.example.com" for r in rec.seen)


def test_ipv6_public_address_is_allowed() -> None:
    rec, got = run("https://v6.example.com/a.png", {"v6.example.com/a.png": httpx.Response(200, content=b"ok")})
    assert got.data == b"ok" and rec.seen[0].url.host == "2606:4700::6810:84e5"


def test_size_cap_declared_and_counted() -> None:
    big = {"cdn.example.com/a.png": httpx.Response(200, content=b"x" * 5000)}
    _, result = run("https://cdn.example.com/a.png", big)
    assert isinstance(result, FetchRefused) and "limit is 1,000" in str(result)

    def stream(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 600, b"y" * 600]))  # no Content-Length

    with pytest.raises(FetchRefused, match="larger than 1,000 bytes"):
        fetch("https://cdn.example.com/a.png", max_bytes=1000, resolver=resolver, transport=httpx.MockTransport(stream))


def test_too_many_redirects() -> None:
    routes = {"cdn.example.com/a.png": httpx.Response(302, headers={"location": "/a.png"})}
    rec, result = run("https://cdn.example.com/a.png", routes)
    assert isinstance(result, FetchRefused) and "more than" in str(result)
    assert len(rec.seen) == MAX_REDIRECTS + 1


def test_timeout_is_refused() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(FetchRefused, match="took longer than 2 s"):
        fetch(
            "https://cdn.example.com/a.png",
            max_bytes=10,
            timeout_s=2,
            resolver=resolver,
            transport=httpx.MockTransport(slow),
        )


def test_loopback_http_only_where_allow_http_media_allows_it() -> None:
    routes = {"127.0.0.1:8080/a.png": httpx.Response(200, content=b"local")}
    rec, result = run("http://127.0.0.1:8080/a.png", routes)
    assert isinstance(result, FetchRefused) and rec.seen == []
    rec, got = run("http://127.0.0.1:8080/a.png", routes, allow_loopback_http=True)
    assert got.data == b"local"
    # even then, a redirect from the local host to a private address is refused
    routes = {"127.0.0.1:8080/a.png": httpx.Response(302, headers={"location": "http://10.0.0.5/x"})}
    rec, result = run("http://127.0.0.1:8080/a.png", routes, allow_loopback_http=True)
    assert isinstance(result, FetchRefused) and len(rec.seen) == 1


def test_the_message_never_shows_the_query() -> None:
    _, result = run("https://internal.example.com/a.png?X-Amz-Signature=topsecret")
    assert isinstance(result, FetchRefused) and "topsecret" not in str(result)
