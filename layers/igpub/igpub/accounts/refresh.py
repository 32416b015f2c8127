"""Keep long-lived Instagram tokens alive (``ig_refresh_token``,
https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token).

A token can be refreshed once it is at least 24 h old and until it expires (60 days); a refreshed token
is valid for 60 days from the refresh. The refresher runs daily (EventBridge schedule) and refreshes
every active account whose token expires within ``refresh_window_days`` (14): with a daily run each
token gets about 14 chances before it expires.

How it scales: the due accounts are read from the sparse ``refresh-due`` GSI (partition ``refresh_pool``
= "active", only on active accounts; sort key ``token_expires_at``), page by page, so a run reads the
due accounts and nothing else. Refreshes run in a bounded thread pool (``refresh_concurrency``); the
worker threads do only the network part (KMS decrypt, the Instagram call, KMS encrypt); the run's own
thread does the DynamoDB writes and the events (boto3 resources are not thread-safe). Before starting
each refresh the run checks the Lambda's remaining time and stops starting new ones below
``refresh_safety_margin_s``: the rest stays due and the next run picks it up.

Outcomes per account:

* refreshed: the new token (KMS-encrypted) and expiry are written on condition that ``token_version``
  is still the one read, and the account is still active; otherwise a reconnect (or the publisher marking
  it) won and its newer state is kept: **raced**.
* needs re-authorisation: Instagram refuses the token for good (code 190 with any subcode, 102: expired,
  revoked, password changed ...; or a missing permission, code 10/200-299). The account is marked
  ``needs_reauth`` with the reason (which takes it out of the index, so there is no retry loop) and an
  ``igpub.AccountNeedsReauth`` event goes to the event bus.
* transient: network errors, Instagram 1/2/-1/-2, rate limits: the account stays due for the next run.
* failed: anything else (e.g. Instagram refusing a token it considers too young): logged, stays due.
* skipped_young: the token is younger than ``refresh_min_age_s``; Instagram would refuse it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.errors import (
    AuthError,
    InstagramError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
)
from igpub.instagram.models import LongLivedToken
from igpub.observability import logger
from igpub.repositories.accounts import StaleTokenVersion

__all__ = ["AccountResult", "RefreshDeps", "RefreshReport", "refresh_account", "refresh_due"]

Outcome = Literal[
    "refreshed", "needs_reauth", "transient", "failed", "raced", "skipped_young", "not_found", "not_active",
]
_YOUNG = "token younger than the minimum refresh age (24 h)"
MAX_DETAILS = 100  # outcomes other than "refreshed" listed in a report (the counters count them all)


# ------------------------------------------------------------------------------------ collaborators
class AccountStore(Protocol):
    def get(self, account_id: str) -> Account | None: ...

    def due_for_refresh(
        self, *, expires_before: int, limit: int | None = None, start_key: dict[str, Any] | None = None,
    ) -> tuple[list[Account], dict[str, Any] | None, int]: ...

    def replace_token(
        self, account_id: str, *, expected_version: int, token_ciphertext: bytes, issued_at: int,
        expires_at: int, now: float,
    ) -> Account: ...

    def mark_needs_reauth(
        self, account_id: str, *, reason: str, expected_version: int, now: float,
    ) -> None: ...


class Cipher(Protocol):
    def encrypt(self, token: str, *, account_id: str, purpose: str = ...) -> bytes: ...

    def decrypt(self, ciphertext: bytes, *, account_id: str, purpose: str = ...) -> str: ...


class TokenRefresher(Protocol):
    def refresh_token(self, token: str, *, account_id: str | None = None) -> LongLivedToken: ...


class ReauthEvents(Protocol):
    def account_needs_reauth(
        self, *, account_id: str, username: str, reason: str, error_code: int | None = None,
        error_subcode: int | None = None, now: float,
    ) -> None: ...


@dataclass(frozen=True)
class RefreshDeps:
    settings: Settings
    accounts: AccountStore
    cipher: Cipher
    client: TokenRefresher
    events: ReauthEvents
    clock: Callable[[], float] = time.time


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class AccountResult:
    account_id: str
    outcome: Outcome
    reason: str | None = None
    token_expires_at: int | None = None


@dataclass
class RefreshReport:
    items_read: int = 0
    refreshed: int = 0
    needs_reauth: int = 0
    transient_failures: int = 0
    failed: int = 0
    skipped_young: int = 0
    raced: int = 0
    stopped_early: bool = False
    left: int = 0  # due accounts read but not attempted because the run stopped early
    more_pending: bool = False  # the run stopped before the end of the index
    events_failed: int = 0
    details: list[AccountResult] = field(default_factory=list)

    def add(self, result: AccountResult) -> None:
        match result.outcome:
            case "refreshed":
                self.refreshed += 1
            case "needs_reauth":
                self.needs_reauth += 1
            case "transient":
                self.transient_failures += 1
            case "failed" | "not_found" | "not_active":
                self.failed += 1
            case "raced":
                self.raced += 1
            case "skipped_young":
                self.skipped_young += 1
        if result.outcome != "refreshed" and len(self.details) < MAX_DETAILS:
            self.details.append(result)

    @property
    def refresh_failures(self) -> int:
        """Refresh attempts that produced no new token (for the TokenRefreshFailed metric)."""
        return self.needs_reauth + self.transient_failures + self.failed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------ one account
@dataclass(frozen=True)
class _Attempt:
    """What a worker thread found out: the network part only, nothing written yet."""

    account: Account
    outcome: Literal["refreshed", "needs_reauth", "transient", "failed"]
    ciphertext: bytes = b""
    expires_in: int = 0
    error: InstagramError | None = None
    reason: str | None = None


def _attempt(deps: RefreshDeps, account: Account) -> _Attempt:
    """Decrypt, refresh at Instagram, encrypt the new token. Runs in a worker thread; never raises."""
    aid = account.account_id
    try:
        token = deps.cipher.decrypt(account.token_ciphertext, account_id=aid)
        fresh = deps.client.refresh_token(token, account_id=aid)
        ciphertext = deps.cipher.encrypt(fresh.access_token.get_secret_value(), account_id=aid)
    except (AuthError, PermissionDeniedError) as exc:
        return _Attempt(account, "needs_reauth", error=exc, reason=exc.advice)
    except (TransientError, RateLimitedError) as exc:
        return _Attempt(account, "transient", error=exc, reason=str(exc))
    except InstagramError as exc:
        return _Attempt(account, "failed", error=exc, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one account's AWS/KMS failure must not end the run
        logger.exception("token refresh crashed", extra={"account_id": aid})
        return _Attempt(account, "transient", reason=f"{type(exc).__name__}: {exc}")
    return _Attempt(account, "refreshed", ciphertext=ciphertext, expires_in=int(fresh.expires_in))


def _record(deps: RefreshDeps, attempt: _Attempt, report: RefreshReport) -> AccountResult:
    """Write the outcome of an attempt (conditional writes, event). Runs on the run's own thread."""
    account = attempt.account
    aid = account.account_id
    extra: dict[str, Any] = {"account_id": aid, "outcome": attempt.outcome}
    if attempt.error is not None:
        extra |= {"error_code": attempt.error.code, "error_subcode": attempt.error.subcode}
    now = deps.clock()
    try:
        if attempt.outcome == "refreshed":
            issued = int(now)
            saved = deps.accounts.replace_token(
                aid, expected_version=account.token_version, token_ciphertext=attempt.ciphertext,
                issued_at=issued, expires_at=issued + attempt.expires_in, now=now,
            )
            logger.info("token refreshed", extra={**extra, "token_expires_at": saved.token_expires_at})
            return AccountResult(aid, "refreshed", token_expires_at=saved.token_expires_at)
        if attempt.outcome == "needs_reauth":
            reason = attempt.reason or "Instagram no longer accepts the token"
            deps.accounts.mark_needs_reauth(
                aid, reason=reason, expected_version=account.token_version, now=now,
            )
            logger.warning("account needs re-authorisation", extra={**extra, "reason": reason})
            try:
                deps.events.account_needs_reauth(
                    account_id=aid, username=account.username, reason=reason,
                    error_code=attempt.error.code if attempt.error else None,
                    error_subcode=attempt.error.subcode if attempt.error else None, now=now,
                )
            except Exception:  # noqa: BLE001 - the account is marked; the event is best effort
                logger.exception("could not publish AccountNeedsReauth", extra={"account_id": aid})
                report.events_failed += 1
            return AccountResult(aid, "needs_reauth", reason=reason)
    except StaleTokenVersion:
        logger.info("token changed during the refresh (reconnected); kept the newer one", extra=extra)
        return AccountResult(aid, "raced", reason="the token changed meanwhile; kept the newer one")
    except Exception as exc:  # noqa: BLE001 - stays due; the next run tries again
        logger.exception("could not store the refresh outcome", extra=extra)
        return AccountResult(aid, "failed", reason=f"{type(exc).__name__}: {exc}")
    logger.warning("token refresh failed; retried on the next run", extra={**extra, "reason": attempt.reason})
    return AccountResult(aid, attempt.outcome, reason=attempt.reason)


def _too_young(deps: RefreshDeps, account: Account, now: float) -> bool:
    return now - account.token_issued_at < deps.settings.refresh_min_age_s


# ------------------------------------------------------------------------------------ entry points
def refresh_due(deps: RefreshDeps, *, remaining_ms: Callable[[], int] | None = None) -> RefreshReport:
    """Refresh every due token; stop starting new refreshes when the time left gets short."""
    settings = deps.settings
    report = RefreshReport()
    now = deps.clock()
    expires_before = int(now + settings.refresh_window_days * 86400)
    margin_ms = settings.refresh_safety_margin_s * 1000
    in_flight = max(1, settings.refresh_concurrency)
    pending: set[Future[_Attempt]] = set()

    def collect(until_below: int) -> None:
        while len(pending) >= until_below and pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                pending.discard(fut)
                report.add(_record(deps, fut.result(), report))

    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="refresh") as pool:
        start_key: dict[str, Any] | None = None
        while not report.stopped_early:
            page, start_key, read = deps.accounts.due_for_refresh(
                expires_before=expires_before, limit=settings.refresh_page_size, start_key=start_key,
            )
            report.items_read += read
            for i, account in enumerate(page):
                if _too_young(deps, account, deps.clock()):
                    report.add(AccountResult(account.account_id, "skipped_young", reason=_YOUNG))
                    continue
                collect(in_flight)  # keep at most `in_flight` refreshes started and unrecorded
                if remaining_ms is not None and remaining_ms() < margin_ms:
                    report.stopped_early = True
                    report.left = len(page) - i
                    report.more_pending = start_key is not None
                    logger.warning("stopping before the Lambda times out; the rest waits for the next run",
                                   extra={"left_in_page": report.left, "more_pending": report.more_pending})
                    break
                pending.add(pool.submit(_attempt, deps, account))
            if start_key is None:
                break
        collect(1)
    return report


def refresh_account(deps: RefreshDeps, account_id: str, *, ignore_min_age: bool = False) -> RefreshReport:
    """Refresh one account now, due or not (``igpub refresh ACCOUNT``); honours the 24 h minimum age
    unless ``ignore_min_age`` (Instagram itself then decides)."""
    report = RefreshReport()
    account = deps.accounts.get(account_id)
    report.items_read = 1
    if account is None:
        report.add(AccountResult(account_id, "not_found", reason="no such account"))
        return report
    if account.status != "active":
        report.add(AccountResult(account_id, "not_active",
                                 reason=f"the account needs re-authorisation ({account.reauth_reason})"))
        return report
    if not ignore_min_age and _too_young(deps, account, deps.clock()):
        report.add(AccountResult(account_id, "skipped_young", reason=_YOUNG,
                                 token_expires_at=account.token_expires_at))
        return report
    result = _record(deps, _attempt(deps, account), report)
    report.add(result)
    if result.outcome == "refreshed":
        report.details.append(result)
    return report
