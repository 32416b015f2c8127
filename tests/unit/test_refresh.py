"""igpub.accounts.refresh with in-memory collaborators (offline)."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from igpub.accounts import Account, refresh
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import (
    AuthError,
    InvalidRequestError,
    NetworkError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
)
from igpub.instagram.models import LongLivedToken
from igpub.repositories.accounts import StaleTokenVersion

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_780_000_000.0
DAY = 86400
LIFETIME = 60 * DAY


# ------------------------------------------------------------------------------------ fakes
class MemoryAccounts:
    """The AccountRepository contract, in memory: sparse index = active accounts ordered by expiry."""

    def __init__(self) -> None:
        self.items: dict[str, Account] = {}
        self.lock = threading.Lock()
        self.write_threads: set[int] = set()
        self.queries = 0

    def add(self, account_id: str, *, age_days: float, expires_in_days: float, status: str = "active",
            token: str | None = None) -> Account:
        acc = Account(account_id=account_id, username=f"user_{account_id}", status=status,  # type: ignore[arg-type]
                      token_issued_at=int(NOW - age_days * DAY),
                      token_expires_at=int(NOW + expires_in_days * DAY),
                      token_version=1, connected_at="2026-01-01T00:00:00+00:00", updated_at="x")
        acc.token_ciphertext = f"enc:{account_id}:{token or 'tok-' + account_id}".encode()
        self.items[account_id] = acc
        return acc

    def get(self, account_id: str) -> Account | None:
        acc = self.items.get(account_id)
        return acc.model_copy() if acc else None

    def due_for_refresh(
        self, *, expires_before: int, limit: int | None = None, start_key: dict[str, Any] | None = None,
    ) -> tuple[list[Account], dict[str, Any] | None, int]:
        self.queries += 1
        due = sorted(
            (a for a in self.items.values() if a.status == "active" and a.token_expires_at <= expires_before),
            key=lambda a: (a.token_expires_at, a.account_id),
        )
        if start_key:
            key = (start_key["token_expires_at"], start_key["account_id"])
            due = [a for a in due if (a.token_expires_at, a.account_id) > key]
        page = due[:limit] if limit else due
        nxt = None
        if limit and len(due) > limit:
            nxt = {"token_expires_at": page[-1].token_expires_at, "account_id": page[-1].account_id}
        return [a.model_copy() for a in page], nxt, len(page)

    def replace_token(self, account_id: str, *, expected_version: int, token_ciphertext: bytes,
                      issued_at: int, expires_at: int, now: float) -> Account:
        self.write_threads.add(threading.get_ident())
        with self.lock:
            acc = self.items[account_id]
            if acc.token_version != expected_version or acc.status != "active":
                raise StaleTokenVersion(account_id)
            acc.token_ciphertext = token_ciphertext
            acc.token_issued_at, acc.token_expires_at = issued_at, expires_at
            acc.token_version += 1
            return acc.model_copy()

    def mark_needs_reauth(self, account_id: str, *, reason: str, expected_version: int, now: float) -> None:
        self.write_threads.add(threading.get_ident())
        with self.lock:
            acc = self.items[account_id]
            if acc.token_version != expected_version:
                raise StaleTokenVersion(account_id)
            acc.status = "needs_reauth"
            acc.reauth_reason = reason

    def reconnect(self, account_id: str, token: str) -> None:
        """What the OAuth callback does (save_connection): new token, version + 1, active."""
        with self.lock:
            acc = self.items[account_id]
            acc.token_ciphertext = f"enc:{account_id}:{token}".encode()
            acc.token_issued_at, acc.token_expires_at = int(NOW), int(NOW + LIFETIME)
            acc.token_version += 1
            acc.status = "active"

    def token(self, account_id: str) -> str:
        return FakeCipher().decrypt(self.items[account_id].token_ciphertext, account_id=account_id)


class FakeCipher:
    def encrypt(self, token: str, *, account_id: str, purpose: str = "instagram") -> bytes:
        return f"enc:{account_id}:{token}".encode()

    def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str = "instagram") -> str:
        prefix = f"enc:{account_id}:"
        text = ciphertext.decode()
        assert text.startswith(prefix), "encryption context mismatch"
        return text[len(prefix):]


@dataclass
class FakeInstagram:
    """refresh_token: 'tok-X' -> 'tok-X.r'; per-token errors; optional hook and delay."""

    errors: dict[str, Exception] = field(default_factory=dict)
    delay_s: float = 0.0
    hook: Callable[[str], None] | None = None
    calls: list[str] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh_token(self, token: str, *, account_id: str | None = None) -> LongLivedToken:
        with self.lock:
            self.calls.append(token)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.hook:
                self.hook(token)
            if token in self.errors:
                raise self.errors[token]
            return LongLivedToken.model_validate({"access_token": token + ".r", "expires_in": LIFETIME - 56})
        finally:
            with self.lock:
                self.active -= 1


@dataclass
class FakeEvents:
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def account_needs_reauth(self, **detail: Any) -> None:
        if self.fail:
            raise RuntimeError("PutEvents failed")
        self.sent.append(detail)


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"refresh_concurrency": 4, "refresh_page_size": 100, "refresh_safety_margin_s": 60}
    return Settings(**(base | kw))


def make_deps(accounts: MemoryAccounts, client: Any, events: FakeEvents | None = None,
              **kw: Any) -> refresh.RefreshDeps:
    return refresh.RefreshDeps(settings=settings(**kw), accounts=accounts, cipher=FakeCipher(), client=client,
                               events=events or FakeEvents(), clock=lambda: NOW)


def expired_error() -> AuthError:
    return AuthError("Error validating access token: Session has expired on Sunday, 01-Mar-26.", code=190,
                     subcode=463)


# ------------------------------------------------------------------------------------ selection
def test_refreshes_only_due_old_enough_active_tokens() -> None:
    accts = MemoryAccounts()
    accts.add("due", age_days=50, expires_in_days=10)
    accts.add("due_edge", age_days=46, expires_in_days=14)
    accts.add("not_due", age_days=30, expires_in_days=30)
    accts.add("young", age_days=0.5, expires_in_days=5)  # due but < 24 h old
    accts.add("inactive", age_days=59, expires_in_days=1, status="needs_reauth")
    ig = FakeInstagram()
    report = refresh.refresh_due(make_deps(accts, ig))
    assert (report.refreshed, report.skipped_young, report.items_read) == (2, 1, 3)
    assert sorted(ig.calls) == ["tok-due", "tok-due_edge"]
    assert accts.token("due") == "tok-due.r"
    assert accts.items["due"].token_issued_at == int(NOW)
    assert accts.items["due"].token_expires_at == int(NOW) + LIFETIME - 56
    assert accts.items["due"].token_version == 2
    assert accts.token("not_due") == "tok-not_due"
    assert accts.token("young") == "tok-young"
    assert [d.outcome for d in report.details] == ["skipped_young"]
    # refreshed tokens leave the window: a second run reads only the young one
    again = refresh.refresh_due(make_deps(accts, ig))
    assert (again.items_read, again.refreshed) == (1, 0)


def test_window_is_configurable() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=40, expires_in_days=20)
    assert refresh.refresh_due(make_deps(accts, FakeInstagram())).refreshed == 0
    assert refresh.refresh_due(make_deps(accts, FakeInstagram(), refresh_window_days=21)).refreshed == 1


def test_pages_through_the_index() -> None:
    accts = MemoryAccounts()
    for i in range(25):
        accts.add(f"a{i:02d}", age_days=50, expires_in_days=i / 10)
    report = refresh.refresh_due(make_deps(accts, FakeInstagram(), refresh_page_size=7))
    assert (report.refreshed, report.items_read) == (25, 25)
    assert accts.queries == 4


# ------------------------------------------------------------------------------------ failures
def test_expired_token_marks_needs_reauth_with_event_and_no_retry() -> None:
    accts = MemoryAccounts()
    accts.add("old", age_days=61, expires_in_days=-1)
    accts.add("ok", age_days=50, expires_in_days=10)
    ig, events = FakeInstagram(errors={"tok-old": expired_error()}), FakeEvents()
    report = refresh.refresh_due(make_deps(accts, ig, events))
    assert (report.refreshed, report.needs_reauth) == (1, 1)
    assert ig.calls.count("tok-old") == 1
    acc = accts.items["old"]
    assert acc.status == "needs_reauth"
    assert acc.reauth_reason and "expired" in acc.reauth_reason
    assert len(events.sent) == 1
    sent = events.sent[0]
    assert (sent["account_id"], sent["username"], sent["error_code"], sent["error_subcode"]) == (
        "old", "user_old", 190, 463)
    assert "tok-" not in json.dumps(sent)  # never a token
    # the account left the index: the next run neither reads nor calls it again
    again = refresh.refresh_due(make_deps(accts, ig, events))
    assert (again.items_read, again.needs_reauth) == (0, 0)
    assert ig.calls.count("tok-old") == 1
    assert len(events.sent) == 1


def test_real_client_does_not_retry_a_190() -> None:
    """The Instagram client retries transient reads; a 190 must reach the refresher after one call."""
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(400, json={"error": {
            "message": "Error validating access token: Session has expired on Sunday, 01-Mar-26.",
            "type": "OAuthException", "code": 190, "error_subcode": 463}})

    s = Settings(graph_instagram_base="https://graph.test")
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = InstagramClient(s, http=http, sleep=lambda _s: None)
    accts = MemoryAccounts()
    accts.add("old", age_days=61, expires_in_days=-1)
    events = FakeEvents()
    report = refresh.refresh_due(make_deps(accts, client, events))
    assert report.needs_reauth == 1 and len(seen) == 1
    assert seen[0].url.path == "/refresh_access_token"
    assert seen[0].url.params["grant_type"] == "ig_refresh_token"
    assert accts.items["old"].reauth_reason == "The access token expired; connect the account again."
    assert events.sent[0]["error_subcode"] == 463


@pytest.mark.parametrize("error", [
    AuthError("The session has been invalidated (password changed)", code=190, subcode=460),
    AuthError("Invalid OAuth access token - Cannot parse access token", code=190),
    PermissionDeniedError("(#10) Application does not have permission for this action", code=10),
])
def test_other_permanent_errors_need_reauth(error: Exception) -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=50, expires_in_days=10)
    events = FakeEvents()
    report = refresh.refresh_due(make_deps(accts, FakeInstagram(errors={"tok-a": error}), events))
    assert report.needs_reauth == 1 and accts.items["a"].status == "needs_reauth" and len(events.sent) == 1


@pytest.mark.parametrize("error", [
    TransientError("An unexpected error has occurred. Please retry your request later.", code=2),
    NetworkError("ReadTimeout on GET /refresh_access_token"),
    RateLimitedError("Application request limit reached", code=4, retry_after_s=300),
])
def test_transient_failure_leaves_the_account_for_the_next_run(error: Exception) -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=50, expires_in_days=10)
    events = FakeEvents()
    ig = FakeInstagram(errors={"tok-a": error})
    report = refresh.refresh_due(make_deps(accts, ig, events))
    assert (report.transient_failures, report.refreshed, report.needs_reauth) == (1, 0, 0)
    assert report.refresh_failures == 1
    assert accts.items["a"].status == "active" and accts.token("a") == "tok-a" and not events.sent
    assert report.details[0].outcome == "transient"
    # next run: Instagram is fine again
    ig.errors.clear()
    again = refresh.refresh_due(make_deps(accts, ig, events))
    assert (again.items_read, again.refreshed) == (1, 1) and accts.token("a") == "tok-a.r"


def test_other_instagram_error_is_a_failure_not_reauth() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=50, expires_in_days=10)
    err = InvalidRequestError("the access token cannot be refreshed before it is 24 hours old", code=100)
    report = refresh.refresh_due(make_deps(accts, FakeInstagram(errors={"tok-a": err})))
    assert (report.failed, report.needs_reauth) == (1, 0) and accts.items["a"].status == "active"


def test_crash_of_one_account_does_not_end_the_run() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=50, expires_in_days=10)
    accts.add("b", age_days=50, expires_in_days=11)
    accts.items["a"].token_ciphertext = b"garbage"  # decrypt fails (wrong context)
    report = refresh.refresh_due(make_deps(accts, FakeInstagram()))
    assert (report.refreshed, report.transient_failures) == (1, 1)


def test_event_failure_keeps_the_account_marked() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=61, expires_in_days=-1)
    report = refresh.refresh_due(make_deps(accts, FakeInstagram(errors={"tok-a": expired_error()}),
                                           FakeEvents(fail=True)))
    assert (report.needs_reauth, report.events_failed) == (1, 1) and accts.items["a"].status == "needs_reauth"


# ------------------------------------------------------------------------------------ races
def test_reconnect_during_the_refresh_keeps_the_newer_token() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=50, expires_in_days=10)
    ig = FakeInstagram(hook=lambda _tok: accts.reconnect("a", "tok-reconnected"))
    report = refresh.refresh_due(make_deps(accts, ig))
    assert (report.raced, report.refreshed) == (1, 0)
    assert accts.token("a") == "tok-reconnected"
    assert accts.items["a"].token_version == 2  # only the reconnect wrote


def test_reconnect_during_a_failed_refresh_is_not_marked() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=61, expires_in_days=-1)
    events = FakeEvents()

    def reconnect_then_fail(_tok: str) -> None:
        accts.reconnect("a", "tok-reconnected")
        raise expired_error()

    report = refresh.refresh_due(make_deps(accts, FakeInstagram(hook=reconnect_then_fail), events))
    assert (report.raced, report.needs_reauth) == (1, 0)
    assert accts.items["a"].status == "active" and accts.token("a") == "tok-reconnected" and not events.sent


# ------------------------------------------------------------------------------------ time and parallelism
def test_stops_before_the_time_limit_and_the_next_run_finishes() -> None:
    accts = MemoryAccounts()
    for i in range(10):
        accts.add(f"a{i}", age_days=50, expires_in_days=i / 10)
    left_ms = [900_000]
    ig = FakeInstagram()

    def remaining() -> int:  # each refresh "takes" 100 s of the Lambda's 900 s
        return left_ms[0] - 100_000 * len(ig.calls)

    report = refresh.refresh_due(make_deps(accts, ig, refresh_concurrency=1, refresh_safety_margin_s=120),
                                 remaining_ms=remaining)
    assert report.stopped_early
    assert report.refreshed == 8  # 900 - 8 * 100 = 100 s < 120 s margin
    assert report.left == 2 and not report.more_pending
    assert [a for a in accts.items if accts.token(a).endswith(".r")] == [f"a{i}" for i in range(8)]
    again = refresh.refresh_due(make_deps(accts, ig), remaining_ms=lambda: 900_000)
    assert (again.refreshed, again.stopped_early, again.items_read) == (2, False, 2)


def test_stop_reports_more_pages() -> None:
    accts = MemoryAccounts()
    for i in range(10):
        accts.add(f"a{i}", age_days=50, expires_in_days=i / 10)
    deps = make_deps(accts, FakeInstagram(), refresh_page_size=4)
    report = refresh.refresh_due(deps, remaining_ms=lambda: 1000)
    assert report.stopped_early and report.refreshed == 0 and report.left == 4 and report.more_pending
    assert report.items_read == 4  # stopped without reading further pages


def test_bounded_parallelism_and_writes_on_one_thread() -> None:
    accts = MemoryAccounts()
    for i in range(24):
        accts.add(f"a{i:02d}", age_days=50, expires_in_days=i / 10)
    ig = FakeInstagram(delay_s=0.03)
    started = time.monotonic()
    report = refresh.refresh_due(make_deps(accts, ig, refresh_concurrency=4))
    elapsed = time.monotonic() - started
    assert report.refreshed == 24
    assert 1 < ig.max_active <= 4
    assert elapsed < 24 * 0.03  # faster than one at a time
    assert accts.write_threads == {threading.get_ident()}


# ------------------------------------------------------------------------------------ one account
def test_refresh_account_now_even_if_not_due() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=5, expires_in_days=55)
    report = refresh.refresh_account(make_deps(accts, FakeInstagram()), "a")
    assert report.refreshed == 1 and accts.token("a") == "tok-a.r"
    assert report.details[0].outcome == "refreshed" and report.details[0].token_expires_at


def test_refresh_account_honours_min_age_unless_told() -> None:
    accts = MemoryAccounts()
    accts.add("a", age_days=0.1, expires_in_days=59.9)
    ig = FakeInstagram()
    report = refresh.refresh_account(make_deps(accts, ig), "a")
    assert report.skipped_young == 1 and not ig.calls
    forced = refresh.refresh_account(make_deps(accts, ig), "a", ignore_min_age=True)
    assert forced.refreshed == 1 and ig.calls == ["tok-a"]


def test_refresh_account_unknown_or_inactive() -> None:
    accts = MemoryAccounts()
    accts.add("x", age_days=50, expires_in_days=10, status="needs_reauth")
    ig = FakeInstagram()
    assert refresh.refresh_account(make_deps(accts, ig), "nope").details[0].outcome == "not_found"
    assert refresh.refresh_account(make_deps(accts, ig), "x").details[0].outcome == "not_active"
    assert not ig.calls


# ------------------------------------------------------------------------------------ the handler
def _load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("refresher_app", ROOT / "functions/refresher/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    function_name: str = "igpub-refresher"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:igpub-refresher"
    aws_request_id: str = "req-1"
    left_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.left_ms


def test_handler_with_the_sample_events(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    app = _load_handler()
    accts = MemoryAccounts()
    accts.add("due", age_days=50, expires_in_days=10)
    accts.add("fresh", age_days=2, expires_in_days=58)
    monkeypatch.setattr(app, "_deps", lambda: make_deps(accts, FakeInstagram()))
    scheduled = json.loads((ROOT / "events/refresh_schedule.json").read_text())
    out = app.lambda_handler(scheduled, Context())
    assert out["refreshed"] == 1 and out["items_read"] == 1 and not out["stopped_early"]
    printed = capsys.readouterr().out
    assert '"TokenRefreshFailed"' in printed  # the one refresher metric: TokenRefreshFailedAlarm reads it

    manual = json.loads((ROOT / "events/refresh_account.json").read_text()) | {"account_id": "fresh"}
    out = app.lambda_handler(manual, Context())
    assert out["refreshed"] == 1 and accts.token("fresh") == "tok-fresh.r"


def test_handler_stops_early_on_little_time(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _load_handler()
    accts = MemoryAccounts()
    accts.add("due", age_days=50, expires_in_days=10)
    monkeypatch.setattr(app, "_deps", lambda: make_deps(accts, FakeInstagram()))
    out = app.lambda_handler({}, Context(left_ms=30_000))
    assert out["stopped_early"] and out["left"] == 1 and out["refreshed"] == 0
