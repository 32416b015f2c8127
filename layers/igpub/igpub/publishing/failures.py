"""What a task answers when Instagram or the post says no: failures a person can act on, and the
bounded retries of transient errors and expired containers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from igpub.accounts import Account
from igpub.instagram.errors import AuthError, InstagramError, RateLimitedError, TransientError
from igpub.instagram.models import ContainerStatus
from igpub.observability import count_total, logger
from igpub.publishing.deps import Deps, deauthorized
from igpub.publishing.outcome import Outcome, Status, failed, wait
from igpub.repositories.accounts import StaleTokenVersion
from igpub.repositories.posts import NotOwner, PostRecord, iso

MAX_TRANSIENT_RETRIES = 8
MAX_RECREATIONS = 2
TRANSIENT_WAIT_S = 10


def auth_failure(deps: Deps, account: Account, exc: AuthError) -> Outcome:
    reason = (
        f"Instagram no longer accepts @{account.username}'s access token ({exc.advice}). "
        "Reconnect the account (igpub connect), then post again."
    )
    try:
        deps.accounts.mark_needs_reauth(
            account.account_id, reason=exc.advice, expected_version=account.token_version, now=deps.clock()
        )
    except StaleTokenVersion:
        current = deps.accounts.get(account.account_id)
        if current is not None and current.status == "deauthorized":  # issue 22: disconnected meanwhile
            return deauthorized(current)
        reason = "The account's token changed while posting (it was reconnected); post again."
    return {**failed(reason, "needs_reauth"), "instagram_error": instagram_error(exc)}


def instagram_error(exc: InstagramError) -> dict[str, Any]:
    """What identifies Instagram's error to an operator and to Meta support (the fail step logs it)."""
    return {"code": exc.code, "subcode": exc.subcode, "fbtrace_id": exc.fbtrace_id}


def transient(deps: Deps, rec: PostRecord, exc: InstagramError, status: Status) -> Outcome:
    n = deps.posts.increment(rec.post_id, "transient_retries", deps.clock())
    if n > MAX_TRANSIENT_RETRIES:
        return {
            **failed(f"Instagram kept failing ({exc.advice}); gave up after {n - 1} retries. Try again later.",
                     "transient"),
            "instagram_error": instagram_error(exc),
        }
    return wait(status, TRANSIENT_WAIT_S * min(n, 6))


def error_outcome(
    deps: Deps, rec: PostRecord, account: Account, exc: InstagramError, *, retry_status: Status
) -> Outcome:
    if isinstance(exc, RateLimitedError):
        limited = Status.RETRY_CREATE if retry_status == Status.RETRY_CREATE else Status.RATE_LIMITED
        return wait(limited, exc.retry_after_s)
    if isinstance(exc, AuthError):
        return auth_failure(deps, account, exc)
    if isinstance(exc, TransientError):
        return transient(deps, rec, exc, retry_status)
    kind = exc.kind if hasattr(exc, "kind") else "instagram"
    return {**failed(exc.advice, kind), "instagram_error": instagram_error(exc)}


def container_failure(status: ContainerStatus, what: str) -> Outcome:
    detail = (status.status or "").strip()
    subcode = next((int(t) for t in _words(detail) if t.isdigit() and len(t) == 7), None)
    return {
        **failed(
            f"Instagram could not process {what}: {detail or 'no details given'}. " + media_check_advice(detail),
            "container_error",
        ),
        "instagram_error": {"code": None, "subcode": subcode, "fbtrace_id": None},  # the status text has no code
    }


def _words(detail: str) -> list[str]:
    return detail.replace("(", " ").replace(")", " ").split()


def media_check_advice(detail: str) -> str:
    """Advice for the subcode Instagram puts in a container's `status` text."""
    from igpub.instagram.errors import advice_for_subcode

    for token in detail.replace("(", " ").replace(")", " ").split():
        if token.isdigit() and len(token) == 7:
            return advice_for_subcode(int(token))
    return "Check the media against Instagram's specifications and post again."


def expired(deps: Deps, rec: PostRecord, *, recreate: bool = False) -> Outcome:
    """A container EXPIRED (24 h after creation). While processing that is a failure; after a long
    quota wait the post is still wanted, so its containers are created again (a bounded number of times)."""
    if recreate:
        n = deps.posts.increment(rec.post_id, "recreations", deps.clock())
        if n <= MAX_RECREATIONS:
            deps.posts.update(
                rec.post_id,
                deps.clock(),
                item_containers=[],
                ready_containers=[],
                remove=("parent_container", "publish_attempted_at"),
            )
            return wait(Status.RECREATE, 1)
    return failed(
        "Instagram's media container expired (containers live 24 hours) before the post could be published. "
        "Post it again.",
        "expired",
    )


# A failure with one of these codes proves the post is not live even after a publish was sent: the
# container was read in ERROR or EXPIRED (a container that became media reads PUBLISHED).
PROVES_NOT_LIVE = frozenset({"container_error", "expired"})
_AGAIN = re.compile(r"post (it )?again|try again|posting again", re.IGNORECASE)


def may_be_live_reason(reason: str, rec: PostRecord, username: str | None) -> str:
    """The reason of a post that failed after a publish request was sent and never confirmed: it says the
    post may be live and how to check, and drops any advice to post again (that would publish it twice)."""
    kept = []
    for sentence in re.split(r"(?<=[.!?])\s+", reason.strip()):
        if _AGAIN.search(sentence):  # "AWS was failing: post again later." keeps "AWS was failing."
            head = sentence.split(": ", 1)[0] if ": " in sentence else ""
            sentence = head + "." if head and not _AGAIN.search(head) else ""
        if sentence:
            kept.append(sentence)
    when = datetime.fromtimestamp(rec.publish_attempted_at or 0, UTC).strftime("%Y-%m-%d %H:%M")
    where = f"@{username}'s profile (https://www.instagram.com/{username}/)" if username else "the account's profile"
    return (" ".join(kept) + (" " if kept else "") +
            f"igpub sent the publish request to Instagram at {when} UTC and could not confirm the outcome: "
            f"the post may be live. Look for it on {where} before publishing it anew; if it is there, it is done.")


def fail(
    deps: Deps, post_id: str, outcome: dict[str, Any] | None, error: dict[str, Any] | None, execution_id: str
) -> Outcome:
    """The RecordFailure/RecordUnexpected task: the post becomes ``failed`` with the reason, only while it
    belongs to ``execution_id`` and is not published or cancelled (a record is changed only by its owner).
    Answers FAILED (with ``may_be_live``), or PUBLISHED / CANCELLED / DUPLICATE when there is nothing to fail."""
    if outcome and outcome.get("reason"):
        reason, code = str(outcome["reason"]), str(outcome.get("code") or "failed")
    elif error:
        cause, error_type = str(error.get("Cause") or ""), str(error.get("Error", "error"))
        try:
            body = json.loads(cause)
            cause, error_type = body.get("errorMessage", cause), body.get("errorType") or error_type
        except (ValueError, AttributeError):
            pass
        if error_type == "AwsTransientError" or cause.startswith("AWS kept failing"):
            reason = (
                f"{cause[:300]} in every retry igpub made. "
                "AWS was throttling or failing at the time: post again in a few minutes."
            )
            code = "aws_transient"
        else:
            reason = f"igpub hit an unexpected error ({error_type}): {cause[:300]}. Post again."
            code = "internal"
    elif outcome:
        reason = f"igpub got an outcome it does not handle ({outcome.get('status')!r}); this is a bug. Post again."
        code = "internal"
    else:
        reason, code = "The post failed for an unknown reason. Post again.", "unknown"
    now = deps.clock()
    rec = deps.posts.get(post_id)
    if rec is None:  # the execution failed before Prepare recorded anything: record the failure, if still ours
        rec, owned = deps.posts.claim(PostRecord(
            post_id=post_id, account_id="unknown", kind="unknown", request="{}", status="failed",
            execution_id=execution_id, failure_reason=reason, failure_code=code, created_at=iso(now),
            updated_at=iso(now), started_at=int(now)))
        if owned:
            return {**failed(reason, code), "account_id": None, "kind": None, "may_be_live": False}
    for _ in range(3):  # read, write conditionally; read again if the record changed in between
        if rec.execution_id != execution_id:
            logger.info("not failing a post another execution owns", extra={"post_id": post_id,
                                                                            "owner": rec.execution_id})
            return {"status": Status.DUPLICATE, "reason": f"post {post_id} is handled by {rec.execution_id}"}
        if rec.status == "published":  # never turn a published post into a failed one
            return {"status": Status.PUBLISHED, "media_id": rec.media_id, "permalink": rec.permalink,
                    "account_id": rec.account_id, "kind": rec.kind}
        if rec.status == "cancelled":
            return {"status": Status.CANCELLED, "reason": "the post was cancelled before publishing began"}
        live = rec.publish_attempted_at is not None and code not in PROVES_NOT_LIVE
        final = reason
        if live:
            account = deps.accounts.get(rec.account_id)
            final = may_be_live_reason(reason, rec, account.username if account else None)
        try:
            deps.posts.set_status(
                post_id, now, execution_id, "failed", unless=("published", "cancelled"),
                remove=() if live else ("may_be_live",), failure_reason=final, failure_code=code,
                **({"may_be_live": True} if live else {}),
            )
        except NotOwner:
            again = deps.posts.get(post_id)
            if again is None:
                break
            rec = again
            continue
        count_total("PostsFailedTotal")  # all kinds in one series: the PostsFailedAlarm reads it
        # the Graph error's code, subcode and fbtrace_id (when Instagram refused): what an operator needs
        logger.info("post failed", extra={"post_id": post_id, "code": code, "may_be_live": live,
                                          "instagram_error": (outcome or {}).get("instagram_error")})
        # every key is always there: the state machine's igpub.PostFailed event reads them
        return {**failed(final, code), "account_id": rec.account_id, "kind": rec.kind, "may_be_live": live}
    return {"status": Status.DUPLICATE, "reason": f"post {post_id} changed hands while failing it"}
