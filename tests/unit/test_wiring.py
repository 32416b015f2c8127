"""Every handler's dependencies come from igpub.wiring (built without calling AWS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from igpub import wiring
from igpub.config import Settings
from igpub.hashtags import HashtagService
from igpub.publishing import workflow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return Settings()


def test_publisher_wiring(settings: Settings) -> None:
    wired = wiring.publisher(settings)
    assert isinstance(wired.deps, workflow.Deps)
    assert wired.deps.publish_guard is wired.guard
    assert isinstance(wired.deps.hashtags, HashtagService)


def test_every_function_shares_one_client_setup(settings: Settings) -> None:
    clients = [
        wiring.publisher(settings).deps.client,
        wiring.hashtags(settings).client,
        wiring.oauth(settings).client,
        wiring.refresher(settings).client,
    ]
    assert all(type(c) is type(clients[0]) for c in clients)


@pytest.mark.parametrize("function", ["publisher", "hashtags", "oauth", "refresher"])
def test_handlers_wire_through_the_module(function: str) -> None:
    source = (ROOT / "functions" / function / "app.py").read_text()
    assert f"wiring.{function}(get_settings())" in source
    assert "Repository(" not in source and "InstagramClient(" not in source
