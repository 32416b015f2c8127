"""The data deletion itself (the DataDeletionFunction; started asynchronously by the data deletion
callback, or by ``igpub disconnect --delete-data``).

https://developers.facebook.com/docs/apps/delete-data: "start deleting the data the app got from Meta
about that person". What igpub deletes, table by table (README, "Going Live: what is deleted"):

* accounts: the account's item (username, ids, account type, scopes, token ciphertext, dates);
* hashtags: every item of the account (pools, the search budget, rotation memory, the Facebook Login
  connection with its token and Page); for a Facebook user (Facebook Login's callback), the connections
  they made and the hashtag searches made with them;
* usage: the account's call counters;
* webhook events: every stored change from or about the person (their ids, username or media);
* idempotency: the publish records of their posts (they hold the media id and the account id);
* invites: the connected account id (the team's label stays, the username redacted);
* the media bucket: the files uploaded for their posts;
* posts: kept for the team's accounting, rewritten without Meta data: Instagram's media, container and
  comment ids, the permalink, insights and the request go; the account id becomes ``deleted-<code>``;
  the team's caption, hashtags and timestamps stay, with the person's ids and username redacted.

Running it twice is harmless: each step deletes what is still there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from igpub.observability import logger
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.deletions import DeletionRepository
from igpub.repositories.personal_data import FINAL_POST_STATUSES, PersonalDataStore, Subject, media_keys

IN_FLIGHT_WAIT_S = 60  # posts that were being published when the account was deauthorized end in seconds


@dataclass
class Deps:
    accounts: AccountRepository
    data: PersonalDataStore
    deletions: DeletionRepository
    stop_execution: Callable[[str, str], None] | None = None
    # whether a post's execution still runs (None: every unfinished post is taken to be running)
    execution_running: Callable[[str], bool] | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


def pseudonym(code: str) -> str:
    return f"deleted-{code}"


def run(deps: Deps, code: str) -> dict[str, Any]:
    """Delete what igpub holds about the person of request ``code``; the summary of what went."""
    request = deps.deletions.start(code, now=deps.clock())
    if request is None:
        current = deps.deletions.get(code)
        logger.info("deletion not pending", extra={"code": code, "status": current.status if current else None})
        return {"code": code, "status": current.status if current else "unknown"}
    ids = [i for i in request.subject_ids if not i.startswith("@")]
    usernames = [i[1:] for i in request.subject_ids if i.startswith("@")]
    accounts = {a.account_id: a for i in ids for a in deps.accounts.find(i)}
    usernames += [a.username for a in accounts.values()]
    ids += [i for a in accounts.values() for i in (a.account_id, a.app_scoped_id or "") if i]
    subject = Subject(ids=tuple(dict.fromkeys(i for i in ids if i)), usernames=tuple(dict.fromkeys(usernames)))
    account_ids = list(dict.fromkeys([*accounts, *subject.ids]))
    summary: dict[str, int] = {}

    posts = [p for a in account_ids for p in deps.data.posts_of(a)]
    posts = _after_in_flight(deps, posts, account_ids)
    now_iso = datetime.fromtimestamp(deps.clock(), UTC).isoformat(timespec="milliseconds")
    reason = "Not published: the account's data was deleted at its owner's request."
    keys = [k for post in posts for k in media_keys(post)]
    for post in posts:
        deps.data.scrub_post(post, subject, pseudonym=pseudonym(code), reason=reason, now_iso=now_iso)
    summary["posts_rewritten"] = len(posts)
    summary["media_files"] = deps.data.delete_media([str(p["post_id"]) for p in posts], subject, keys)
    facebook = [a for i in subject.ids for a in deps.data.facebook_connections_of(i)]
    summary["facebook_connections"] = sum(deps.data.delete_facebook_data(a) for a in facebook)
    summary["hashtag_items"] = deps.data.delete_hashtag_data(account_ids)
    summary["usage_items"] = deps.data.delete_usage(account_ids)
    summary["webhook_events"] = deps.data.delete_webhook_events(subject)
    summary["idempotency_records"] = deps.data.delete_idempotency_records(subject)
    summary["invites_scrubbed"] = deps.data.scrub_invites(subject)
    summary["accounts"] = sum(deps.accounts.delete(a) for a in accounts)
    deps.deletions.finish(code, summary=summary, now=deps.clock())
    logger.info("data deleted", extra={"code": code, "summary": summary})
    return {"code": code, "status": "done", "summary": summary}


def _after_in_flight(deps: Deps, posts: list[dict[str, Any]], account_ids: list[str]) -> list[dict[str, Any]]:
    """Give posts whose execution is still running (claimed for publishing before the deauthorization)
    time to end: their next step fails them. Then stop what still runs, and read the posts again.
    An unfinished post whose execution no longer runs (stopped, or ended without recording) will not change:
    it is not waited for."""
    deadline = deps.clock() + IN_FLIGHT_WAIT_S
    while any(_may_still_change(deps, p) for p in posts) and deps.clock() < deadline:
        deps.sleep(2)
        posts = [p for a in account_ids for p in deps.data.posts_of(a)]
    for post in posts:
        if post.get("status") not in FINAL_POST_STATUSES and deps.stop_execution and post.get("execution_id"):
            deps.stop_execution(str(post["execution_id"]), "the account's data was deleted")
    return posts


def _may_still_change(deps: Deps, post: dict[str, Any]) -> bool:
    if post.get("status") in FINAL_POST_STATUSES:
        return False
    if deps.execution_running is None:
        return True
    execution = post.get("execution_id")
    return bool(execution) and deps.execution_running(str(execution))
