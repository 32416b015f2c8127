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
    # built on the first post that names a pool, then the real service
    assert isinstance(wired.deps.hashtags, wiring.LazyHashtagCaptions)
    assert wired.deps.hashtags._service is None


def test_lazy_hashtag_captions_delegate_to_the_service(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, str]] = []

    def caption_for(self: HashtagService, req: object, *, post_id: str) -> tuple[str, list[str]]:
        seen.append((req, post_id))
        return "caption #a", ["a"]

    monkeypatch.setattr(HashtagService, "caption_for", caption_for)
    lazy = wiring.LazyHashtagCaptions(settings)
    assert lazy.caption_for("req", post_id="p1") == ("caption #a", ["a"])  # type: ignore[arg-type]
    assert isinstance(lazy._service, HashtagService)
    assert lazy.caption_for("req2", post_id="p2") == ("caption #a", ["a"])  # type: ignore[arg-type]
    assert seen == [("req", "p1"), ("req2", "p2")]


# what each function's cold start must not import: other functions' modules and one-step utilities
NOT_IMPORTED = {
    "publisher": ["igpub.hashtags", "igpub.accounts.refresh", "igpub.connect.oauth", "pydantic_settings",
                  "aws_lambda_powertools.utilities.idempotency", "igpub.publishing.media_check"],
    "refresher": ["igpub.publishing.workflow", "igpub.hashtags", "aws_lambda_powertools.utilities.idempotency",
                  "pydantic_settings"],
    "oauth": ["igpub.publishing.workflow", "igpub.accounts.refresh", "aws_lambda_powertools.utilities.idempotency",
              "pydantic_settings"],
    "hashtags": ["igpub.publishing.workflow", "igpub.accounts.refresh", "aws_lambda_powertools.utilities.idempotency",
                 "pydantic_settings"],
}


@pytest.mark.parametrize("function", sorted(NOT_IMPORTED))
def test_cold_start_imports_only_what_the_function_uses(function: str) -> None:
    import json
    import os
    import subprocess
    import sys

    build = [str(ROOT / "functions" / function), str(ROOT / "layers" / "igpub")]
    code = ("import json, sys, app\n"
            "(getattr(app, '_wired', None) or app._deps)()\n"
            f"print(json.dumps([m for m in {NOT_IMPORTED[function]!r} if m in sys.modules]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(build), "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


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
