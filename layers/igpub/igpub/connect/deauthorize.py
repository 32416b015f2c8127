"""Disconnecting an account: Meta's deauthorize callback (the person removed the app), and the operator's
``igpub disconnect``. Also where a data deletion request is opened (the deletion itself runs apart,
asynchronously: igpub.connect.deletion).

https://developers.facebook.com/docs/apps/delete-data
https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login

Deauthorizing an account, in this order:
1. the account record: status ``deauthorized``, its token ciphertext deleted, out of the refresh index
   (one conditional write: from this moment no publish step goes on, see igpub.publishing.deps.usable
   and the check right before ``media_publish``);
2. its Facebook Login connection (hashtag search token and Page) deleted;
3. its scheduled posts end as failed with the reason (a conditional write each: a post that an execution
   already claimed for publishing is left to that execution, whose next step finds the account
   deauthorized and fails the post with the same reason), and their waiting executions are stopped;
4. ``igpub.AccountDeauthorized`` on the event bus (best effort: the record above is what counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from igpub.accounts.model import Account
from igpub.observability import logger
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.deletions import DeletionRepository, DeletionRequest
from igpub.repositories.personal_data import PersonalDataStore

ACCOUNT_DEAUTHORIZED = "igpub.AccountDeauthorized"
REASON_CODE = "deauthorized"


class EventSink(Protocol):
    def put(self, detail_type: str, detail: dict[str, Any]) -> None: ...


def reason_for(account: Account, by: str) -> str:
    who = "igpub's operator disconnected" if by == "operator" else "its owner removed igpub's access to"
    return (f"Not published: {who} @{account.username} ({'igpub disconnect' if by == 'operator' else 'deauthorized'}"
            f" {account.deauthorized_at or ''}). Connect the account again to publish.")


@dataclass
class Deps:
    accounts: AccountRepository
    data: PersonalDataStore
    deletions: DeletionRepository
    events: EventSink | None = None
    stop_execution: Callable[[str, str], None] | None = None  # (execution arn, cause), best effort
    start_deletion: Callable[[str], None] | None = None  # runs the deletion of a request code (async)
    subject_key: Callable[[], str] = lambda: ""  # the secret that keys the deletion table's HMACs


@dataclass
class Deauthorized:
    account_id: str
    username: str
    already: bool  # it was deauthorized before: nothing changed
    posts_ended: list[str] = field(default_factory=list)
    posts_in_flight: list[str] = field(default_factory=list)


def deauthorize_account(deps: Deps, account: Account, *, by: str, now: float) -> Deauthorized:
    marked = deps.accounts.mark_deauthorized(account.account_id, by=by, now=now)
    if marked is None:
        return Deauthorized(account.account_id, account.username, already=True)
    logger.info("account deauthorized", extra={"account_id": account.account_id, "by": by})
    deps.data.delete_facebook_connection(account.account_id)
    reason = reason_for(marked, by)
    out = Deauthorized(account.account_id, account.username, already=False)
    now_iso = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    for post in deps.data.posts_of(account.account_id):
        status, post_id = post.get("status"), str(post["post_id"])
        if status == "scheduled":
            if deps.data.end_scheduled_post(post_id, reason=reason, code=REASON_CODE, now_iso=now_iso):
                out.posts_ended.append(post_id)
                if deps.stop_execution and post.get("execution_id"):
                    deps.stop_execution(str(post["execution_id"]), "account deauthorized")
                continue
            status = "creating"  # claimed by its execution in between
        if status in ("creating", "processing"):
            out.posts_in_flight.append(post_id)
    if deps.events is not None:
        try:
            deps.events.put(ACCOUNT_DEAUTHORIZED, {
                "account_id": account.account_id, "username": account.username, "by": by, "login": "instagram",
                "deauthorized_at": marked.deauthorized_at, "posts_ended": out.posts_ended,
                "posts_in_flight": out.posts_in_flight,
            })
        except Exception:  # noqa: BLE001 - the event is best effort; the record above is what counts
            logger.exception("igpub.AccountDeauthorized not sent")
    return out


def deauthorize(deps: Deps, person_id: str, *, by: str, now: float) -> list[Deauthorized]:
    """Every account ``person_id`` names (the account id or the app-scoped id). Unknown: nothing happens.
    Facebook Login's callback (``by="facebook"``) names a Facebook user: their Facebook Login connections
    (the hashtag search token and Page) are deleted; the Instagram Login connection is another grant, made
    on Instagram, and stays."""
    if by == "facebook":
        return [deauthorize_facebook(deps, account_id, now=now)
                for account_id in deps.data.facebook_connections_of(person_id)]
    return [deauthorize_account(deps, a, by=by, now=now) for a in deps.accounts.find(person_id)]


def deauthorize_facebook(deps: Deps, account_id: str, *, now: float) -> Deauthorized:
    existed = deps.data.delete_facebook_connection(account_id)
    account = deps.accounts.get(account_id)
    username = account.username if account else ""
    logger.info("facebook login connection deleted", extra={"account_id": account_id})
    if existed and deps.events is not None:
        try:
            deps.events.put(ACCOUNT_DEAUTHORIZED, {
                "account_id": account_id, "username": username, "by": "facebook", "login": "facebook",
                "deauthorized_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                "posts_ended": [], "posts_in_flight": [],
            })
        except Exception:  # noqa: BLE001 - best effort, as for Instagram Login
            logger.exception("igpub.AccountDeauthorized not sent")
    return Deauthorized(account_id, username, already=not existed)


def request_deletion(deps: Deps, person_id: str, *, source: str, now: float) -> DeletionRequest:
    """Deauthorize what ``person_id`` names, open (or find) the deletion request and start it. Answers
    the same for a person igpub knows nothing about (the request then ends ``done`` with nothing
    deleted): the answer never says whether igpub held data about someone."""
    accounts = deps.accounts.find(person_id)
    for account in accounts:
        deauthorize_account(deps, account, by=source, now=now)
    ids = [person_id] + [i for a in accounts for i in (a.account_id, a.app_scoped_id or "")]
    usernames = [a.username for a in accounts]
    request, created = deps.deletions.open(person_ids=ids + [f"@{u}" for u in usernames], key=deps.subject_key(),
                                          source=source, now=now)
    logger.info("data deletion requested", extra={"code": request.code, "repeat": not created, "source": source})
    if deps.start_deletion is not None:
        deps.start_deletion(request.code)
    return request
