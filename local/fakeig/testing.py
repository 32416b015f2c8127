"""Helpers to run the fake in a background thread (for tests).

    with running_fake() as base_url:
        httpx.post(f"{base_url}/_fake/reset")

``FakeInstagram`` also gives in-process access to the app (``fake.app``) and a small control client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from fakeig.app import FakeApp, create_app
from fakeig.config import FakeConfig
from fakeig.server import serve_in_thread
from fakeig.tls import tls_context


class FakeInstagram:
    """A fake server running in a thread on a free loopback port."""

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app: FakeApp = create_app(config)
        self._server, self._thread = serve_in_thread(self.app, host, port)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self.control = httpx.Client(base_url=f"{self.base_url}/_fake", timeout=10, verify=tls_context())

    # Convenience wrappers around the control API.
    def reset(self) -> None:
        self.control.post("/reset").raise_for_status()

    def configure(self, **patch: Any) -> dict[str, Any]:
        resp = self.control.post("/config", json=patch)
        resp.raise_for_status()
        return dict(resp.json())

    def advance(self, seconds: float) -> float:
        resp = self.control.post("/clock/advance", json={"seconds": seconds})
        resp.raise_for_status()
        return float(resp.json()["now"])

    def faults(self, *rules: dict[str, Any]) -> None:
        self.control.post("/faults", json=list(rules)).raise_for_status()

    def calls(self, host: str | None = None) -> list[dict[str, Any]]:
        resp = self.control.get("/calls", params={"host": host} if host else None)
        resp.raise_for_status()
        return list(resp.json()["data"])

    def url(self, host: str, path: str) -> str:
        return f"{self.base_url}/{host}{path}"

    def close(self) -> None:
        self.app.stop_event.set()
        self.control.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def fake_instagram(config: FakeConfig | None = None) -> Iterator[FakeInstagram]:
    fake = FakeInstagram(config)
    try:
        yield fake
    finally:
        fake.close()


@contextmanager
def running_fake(config: FakeConfig | None = None) -> Iterator[str]:
    """Run the fake on a free port; yield its base URL (``http://127.0.0.1:PORT``)."""
    with fake_instagram(config) as fake:
        yield fake.base_url
