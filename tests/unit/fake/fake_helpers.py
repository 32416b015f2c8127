"""Test client for the fake Instagram server (used by conftest.py and the test_fake_* modules)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from fakeig.testing import FakeInstagram
from fakeig.tls import tls_context

REDIRECT = "https://igpub.example/oauth/callback"
IG_SCOPES = "instagram_business_basic,instagram_business_content_publish"
APP_ID = "igpub-local-app"
APP_SECRET = "local-app-secret"
FB_APP_ID = "igpub-local-fb-app"
FB_APP_SECRET = "local-fb-app-secret"


class IG:
    """A thin test client for the fake (IG Login, FB Login and control API)."""

    def __init__(self, fake: FakeInstagram) -> None:
        self.fake = fake
        self.base = fake.base_url
        self.http = httpx.Client(base_url=fake.base_url, timeout=10, verify=tls_context())
        self.token = ""
        self.user_id = ""

    # -- control ------------------------------------------------------------------------------
    def config(self, **patch: Any) -> dict[str, Any]:
        return dict(self.fake.configure(**patch))

    def advance(self, seconds: float) -> None:
        self.fake.advance(seconds)

    def ctl(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, "/_fake" + path, **kw)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def cdn(self, path: str) -> str:
        return f"{self.base}/cdn/{path}"

    # -- IG login -----------------------------------------------------------------------------
    def authorize(self, **params: Any) -> httpx.Response:
        query = {
            "client_id": APP_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": IG_SCOPES,
            "state": "st4te",
        }
        query.update(params)
        return self.http.get("/www.instagram.com/oauth/authorize", params=query)

    def code(self, **params: Any) -> str:
        resp = self.authorize(**params)
        assert resp.status_code == 302, resp.text
        location = resp.headers["location"]
        assert location.endswith("#_")
        return parse_qs(urlsplit(location[:-2]).query)["code"][0]

    def exchange(self, code: str, **overrides: Any) -> httpx.Response:
        data = {
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
            "code": code,
        }
        data.update(overrides)
        return self.http.post("/api.instagram.com/oauth/access_token", data=data)

    def short_token(self, username: str | None = None, scope: str | None = None) -> str:
        params = {"login_as": username} if username else {}
        if scope:
            params["scope"] = scope
        code = self.code(**params)
        resp = self.exchange(code)
        assert resp.status_code == 200, resp.text
        token = str(resp.json()["data"][0]["access_token"])
        return token

    def long_token(self, short: str) -> httpx.Response:
        return self.http.get(
            "/graph.instagram.com/access_token",
            params={"grant_type": "ig_exchange_token", "client_secret": APP_SECRET, "access_token": short},
        )

    def login(self, username: str | None = None, scope: str | None = None) -> IG:
        resp = self.long_token(self.short_token(username, scope))
        assert resp.status_code == 200, resp.text
        self.token = resp.json()["access_token"]
        me = self.get("/me", fields="user_id")
        self.user_id = me.json()["user_id"]
        return self

    # -- graph --------------------------------------------------------------------------------
    def get(self, path: str, host: str = "graph.instagram.com", token: str | None = None,
            **params: Any) -> httpx.Response:
        params.setdefault("access_token", token or self.token)
        return self.http.get(f"/{host}/v25.0{path}", params=params)

    def post(self, path: str, host: str = "graph.instagram.com", token: str | None = None,
             **data: Any) -> httpx.Response:
        data.setdefault("access_token", token or self.token)
        return self.http.post(f"/{host}/v25.0{path}", data=data)

    def create(self, **data: Any) -> httpx.Response:
        return self.post(f"/{self.user_id}/media", **data)

    def create_ok(self, **data: Any) -> str:
        resp = self.create(**data)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["id"])

    def image(self, w: int = 1080, h: int = 1350, **data: Any) -> str:
        return self.create_ok(image_url=self.cdn(f"image.jpg?w={w}&h={h}"), **data)

    def status(self, container_id: str) -> dict[str, Any]:
        resp = self.get(f"/{container_id}", fields="status_code,status,id")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def publish(self, creation_id: str) -> httpx.Response:
        return self.post(f"/{self.user_id}/media_publish", creation_id=creation_id)


def error_of(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert "error" in body, body
    return dict(body["error"])
