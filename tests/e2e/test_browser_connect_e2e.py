"""The connect flow clicked through in a real browser (headless Chromium, Debian's `chromium`, driven by
Playwright): igpub's /connect on the deployed API Gateway -> the fake Instagram's consent page -> Allow
(or Deny) -> igpub's callback page. A failing test leaves a screenshot and the page's HTML in
test-artifacts/ (gitignored; a CI job can publish it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _not_run(reason: str) -> NoReturn:
    """Skip loudly, or fail where the browser must run (IGPUB_REQUIRE_BROWSER=1, set by .ci/run)."""
    if os.environ.get("IGPUB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"IGPUB_REQUIRE_BROWSER=1: {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    for candidate in (os.environ.get("IGPUB_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    _not_run(
        "!!! NO BROWSER: the real-browser connect test did not run. Install Debian's chromium "
        "(apt-get install -y chromium; .ci/run does it) or set IGPUB_CHROMIUM to a Chromium binary !!!"
    )


@pytest.fixture
def page() -> Iterator[Any]:
    """A page of a fresh headless Chromium (its own profile folder, nothing shared with other runs)."""
    executable = _chromium()
    try:
        from playwright import sync_api
    except ImportError:
        _not_run("!!! playwright is not installed (make venv): the real-browser connect test did not run !!!")
    profile = tempfile.mkdtemp(prefix="igpub-chromium-")
    try:
        with sync_api.sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=executable, headless=True, args=CHROMIUM_FLAGS, timeout=60_000,
            )
            try:
                tab = context.pages[0] if context.pages else context.new_page()
                tab.set_default_timeout(30_000)
                yield tab
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def artifacts_on_failure(page: Any, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        except Exception as exc:  # noqa: BLE001 - the test's own failure is what matters
            print(f"no screenshot: {exc}")
        raise


def _updated_since(dep: Deployment, username: str, since: str) -> bool:
    return any(a.username == username and a.updated_at >= since for a in api.list_accounts(dep))


def test_connect_clicked_through_in_headless_chromium(dep: Deployment, fake: FakeInstagram, page: Any) -> None:
    # the consent page instead of approving by itself; the browser is logged in as a user of its own
    fake.config(consent_mode="page", default_username="browser_user")
    start = datetime.now(UTC).isoformat(timespec="seconds")
    with artifacts_on_failure(page, "connect-allow"):
        page.goto(api.create_invite(dep, label="browser test").url)  # the link igpub connect prints
        # the fake Instagram's consent page, reached through igpub's 302
        page.wait_for_selector("#allow")
        assert "/oauth/authorize" in page.url and page.url.startswith(dep.fake_url or "")
        user = page.inner_text("#username")
        assert user == "browser_user"
        assert not _updated_since(dep, user, start)
        page.click("#allow")
        page.wait_for_load_state()
        # igpub's callback page, on the deployed API Gateway
        assert "/oauth/callback" in page.url and page.url.startswith(dep.output("ApiUrl"))
        assert "Instagram account connected" in page.title()
        body = page.inner_text("body")
        assert f"@{user}" in body and "is connected to igpub" in body
        assert "code=" not in body and "access_token" not in page.content()
        connected = {a.username: a for a in api.list_accounts(dep)}
        assert connected[user].status == "active" and _updated_since(dep, user, start)


def test_deny_in_headless_chromium_connects_nothing(dep: Deployment, fake: FakeInstagram, page: Any) -> None:
    fake.config(consent_mode="page", default_username="browser_denier")
    start = datetime.now(UTC).isoformat(timespec="seconds")
    with artifacts_on_failure(page, "connect-deny"):
        page.goto(api.create_invite(dep, label="browser test").url)  # the link igpub connect prints
        page.wait_for_selector("#deny")
        assert page.inner_text("#username") == "browser_denier"
        page.click("#deny")
        page.wait_for_load_state()
        assert "/oauth/callback" in page.url
        assert "denied" in page.inner_text("body").lower()
        assert not _updated_since(dep, "browser_denier", start)
