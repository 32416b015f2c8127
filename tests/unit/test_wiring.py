"""Every handler's dependencies come from igpub.wiring (built without calling AWS)."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest

from igpub import config, wiring
from igpub.config import Settings
from igpub.hashtags import HashtagService
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import RateLimitedError
from igpub.instagram.usage import Decision
from igpub.publishing import workflow
from igpub.repositories.aws import TableRepository
from igpub.repositories.usage import DynamoUsageStore

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
                  "aws_lambda_powertools.utilities.idempotency", "igpub.publishing.media_check", "igpub.media",
                  "PIL", "imageio_ffmpeg"],
    # the media function: Pillow and ffmpeg only when an image or a video is prepared
    "media": ["igpub.publishing.workflow", "igpub.hashtags", "igpub.accounts.refresh", "igpub.connect.oauth", "PIL",
              "pillow_heif", "imageio_ffmpeg", "igpub.media.images", "igpub.media.video", "igpub.media.fetch",
              "aws_lambda_powertools.utilities.idempotency"],
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


BUILDERS_WITH_A_CLIENT = {
    "publisher": lambda s: wiring.publisher(s).deps.client,
    "hashtags": lambda s: wiring.hashtags(s).client,
    "oauth": lambda s: wiring.oauth(s).client,
    "refresher": lambda s: wiring.refresher(s).client,
    "engagement": lambda s: wiring.engagement(s).client,
}


@pytest.mark.parametrize("function", sorted(BUILDERS_WITH_A_CLIENT))
def test_every_function_counts_its_instagram_calls_in_the_shared_usage_table(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each function's client asks the usage table the settings name before a call, and sends nothing
    when the shared budget is spent (a client without the guard would try the network)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    asked: list[tuple[str, str]] = []

    def acquire(self: DynamoUsageStore, account_id: str, *, now: float, budget: int) -> Decision:
        asked.append((self.table_name, account_id))
        return Decision(False, "budget", 60.0)

    monkeypatch.setattr(DynamoUsageStore, "acquire", acquire)
    settings = Settings(usage_table="shared-usage")
    client = BUILDERS_WITH_A_CLIENT[function](settings)
    with pytest.raises(RateLimitedError):
        client.get_me("token", account_id="17841")
    assert asked == [("shared-usage", "17841")]


def _load_handler(function: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"app_{function}", ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("function", ["engagement", "hashtags", "oauth", "publisher", "refresher", "webhooks"])
def test_handlers_take_their_dependencies_from_the_wiring_once(
    function: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler's dependencies are what ``wiring.<function>`` built from the settings, built once per
    process; the handler constructs no repository or client of its own."""
    app = _load_handler(function)
    built: list[Settings] = []
    sentinel = object()

    def builder(s: Settings) -> object:
        built.append(s)
        return sentinel

    def no_construction(*args: object, **kwargs: object) -> None:
        raise AssertionError("the handler built a repository or client itself")

    monkeypatch.setattr(wiring, function, builder)
    monkeypatch.setattr(TableRepository, "__init__", no_construction)
    monkeypatch.setattr(InstagramClient, "__init__", no_construction)
    monkeypatch.setattr(config, "get_settings", lambda: settings)
    monkeypatch.setattr(app, "get_settings", lambda: settings)
    wired = getattr(app, "_wired", None) or app._deps
    assert wired() is sentinel
    assert wired() is sentinel
    assert built == [settings]
