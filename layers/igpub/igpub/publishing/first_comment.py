"""The first comment: posted on the post's own media right after publishing, never twice.

https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments

* The attempt is recorded (``first_comment_attempted_at``, ``first_comment_attempts``) **before**
  ``POST /{media-id}/comments``.
* Any later attempt first lists the media's comments and looks for one the account wrote with the same
  text: a create whose answer was lost (a dropped connection, a timeout, an error after Instagram
  created it) is then found, recorded as posted and not made again.
* A create whose outcome is unknown (no answer, a timeout, a 5xx, a 2xx without an id, or the task died
  mid-call) may still be running at Instagram and land later: until ``publish_verify_delay_s`` has passed
  since it ended (``first_comment_unknown_at``), a later attempt that does not find it waits instead of
  creating it again (the same rule as media_publish's). A refusal clears ``first_comment_unknown_at``.
* Throttling and transient errors (including the brief 100/33 of freshly published media) come back
  as ``retry_comment`` with a wait; after ``MAX_ATTEMPTS`` the first comment is given up.
* A failed first comment never fails the post: the post stays ``published`` with
  ``first_comment_status = failed`` and ``first_comment_reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import (
    AuthError,
    InstagramError,
    InvalidRequestError,
    NetworkError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
)
from igpub.observability import logger
from igpub.publishing.outcome import Outcome, Status, wait
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.posts import PostRecord, PostRepository

MAX_ATTEMPTS = 4
RETRY_WAIT_S = 10
FRESH_MEDIA = (100, 33)  # "does not exist" for a few seconds after publishing


class Deps(Protocol):
    settings: Settings
    posts: PostRepository
    accounts: AccountRepository
    client: InstagramClient
    clock: Callable[[], float]

    def token(self, account: Account) -> str: ...


def _why(exc: InstagramError) -> str:
    code = f" ({exc.code}/{exc.subcode})" if exc.subcode else f" ({exc.code})" if exc.code is not None else ""
    return f"Instagram said: {exc.message}{code}. {exc.advice}"


def _done(rec: PostRecord) -> Outcome:
    out: Outcome = {
        "status": Status.COMMENTED,
        "media_id": rec.media_id,
        "permalink": rec.permalink,
        "first_comment_status": rec.first_comment_status or "none",
        "first_comment_id": rec.first_comment_id,
    }
    if rec.first_comment_reason:
        out["reason"] = rec.first_comment_reason
    return out


def _record(deps: Deps, rec: PostRecord, status: str, **fields: Any) -> PostRecord:
    logger.info("first comment " + status, extra={"post_id": rec.post_id, **fields})
    remove = ("first_comment_reason",) if status == "posted" else ()
    return deps.posts.update(rec.post_id, deps.clock(), remove=remove, first_comment_status=status, **fields)


def _find_own(deps: Deps, rec: PostRecord, token: str) -> str | None:
    """The id of a comment the account already wrote on the media with this text (an earlier attempt)."""
    assert rec.media_id is not None
    for c in deps.client.list_comments(rec.media_id, token, account_id=rec.account_id, limit=500):
        if c.written_by(rec.account_id) and c.text.strip() == (rec.first_comment_text or "").strip():
            return c.id
    return None


def run(deps: Deps, post_id: str, *, give_up: bool = False, error: dict[str, Any] | None = None) -> Outcome:
    rec = deps.posts.get(post_id)
    if rec is None or not rec.first_comment_text or rec.status != "published" or not rec.media_id:
        return {"status": Status.COMMENTED, "first_comment_status": "none"} if rec is None else _done(rec)
    if rec.first_comment_status in ("posted", "failed"):
        return _done(rec)  # never twice
    account = deps.accounts.get(rec.account_id)
    if account is None or account.status != "active":
        return _done(_record(deps, rec, "failed", first_comment_reason="the account is not connected any more"))
    token = deps.token(account)
    try:
        return _attempt(deps, rec, account, token, give_up=give_up, error=error)
    except RateLimitedError as exc:
        return wait(Status.RETRY_COMMENT, exc.retry_after_s)


def _attempt(deps: Deps, rec: PostRecord, account: Account, token: str, *, give_up: bool,
             error: dict[str, Any] | None) -> Outcome:
    if rec.first_comment_attempted_at is not None:  # an earlier attempt may have posted it
        try:
            found = _find_own(deps, rec, token)
        except RateLimitedError:
            raise
        except InstagramError as exc:
            if rec.first_comment_attempts >= MAX_ATTEMPTS or give_up:
                return _done(_record(deps, rec, "failed", first_comment_reason=f"could not check: {_why(exc)}"))
            return wait(Status.RETRY_COMMENT, RETRY_WAIT_S * max(1, rec.first_comment_attempts))
        if found:
            return _done(_record(deps, rec, "posted", first_comment_id=found))
        if not give_up and rec.first_comment_attempts < MAX_ATTEMPTS and rec.first_comment_unknown_at is not None:
            # an earlier create may still be running at Instagram: give it time to land before making another
            since = deps.clock() - rec.first_comment_unknown_at
            if since < deps.settings.publish_verify_delay_s:
                return wait(Status.RETRY_COMMENT, deps.settings.publish_verify_delay_s - since)
    if give_up:
        cause = (error or {}).get("Cause") or (error or {}).get("Error") or "an unexpected error"
        return _done(_record(deps, rec, "failed", first_comment_reason=f"gave up after {str(cause)[:300]}"))
    if rec.first_comment_attempts >= MAX_ATTEMPTS:
        reason = f"gave up after {rec.first_comment_attempts} attempts ({rec.first_comment_reason or 'no answer'})"
        return _done(_record(deps, rec, "failed", first_comment_reason=reason))

    now = deps.clock()
    # recorded before the call; unknown until an answer says otherwise (if the task dies mid-call, the call
    # may have run its whole timeout)
    rec = deps.posts.update(rec.post_id, now, first_comment_status="pending", first_comment_attempted_at=int(now),
                            first_comment_attempts=rec.first_comment_attempts + 1,
                            first_comment_unknown_at=int(now + deps.settings.http_timeout_s))
    assert rec.media_id is not None and rec.first_comment_text
    try:
        comment_id = deps.client.create_comment(rec.media_id, token, rec.first_comment_text,
                                                account_id=account.account_id)
    except RateLimitedError:
        raise
    except AuthError as exc:
        return _done(_record(deps, rec, "failed", first_comment_reason=_why(exc)))
    except InstagramError as exc:
        never_sent = isinstance(exc, NetworkError) and not exc.request_sent
        unknown = not never_sent and (isinstance(exc, TransientError) or (exc.http_status or 0) >= 500 or not
                                      isinstance(exc, RateLimitedError | AuthError | PermissionDeniedError
                                                 | InvalidRequestError))
        if unknown:  # the create may have worked or may still land: the next attempt looks, after the delay
            rec = deps.posts.update(rec.post_id, deps.clock(), first_comment_unknown_at=int(deps.clock()))
        else:  # a refusal: nothing was created, nothing can land later
            rec = deps.posts.update(rec.post_id, deps.clock(), remove=("first_comment_unknown_at",))
        retryable = unknown or isinstance(exc, TransientError) or (exc.code, exc.subcode) == FRESH_MEDIA
        if retryable and rec.first_comment_attempts < MAX_ATTEMPTS:
            deps.posts.update(rec.post_id, deps.clock(), first_comment_reason=_why(exc))
            return wait(Status.RETRY_COMMENT, RETRY_WAIT_S * rec.first_comment_attempts)
        try:  # an error can come after Instagram created the comment: look before giving up
            found = _find_own(deps, rec, token)
        except InstagramError:
            found = None
        if found:
            return _done(_record(deps, rec, "posted", first_comment_id=found))
        return _done(_record(deps, rec, "failed", first_comment_reason=_why(exc)))
    return _done(_record(deps, rec, "posted", first_comment_id=comment_id))
