"""The Publish task, never twice: ``publish_attempted_at`` is saved before ``media_publish``, and any
publish after an attempt first reads the container's ``status_code`` (PUBLISHED means done, and the
media is found among the account's recent media). The call runs under Powertools Idempotency keyed
by post and container (igpub.repositories.idempotency), so two concurrent tasks cannot both call
Instagram, and a finished result is answered from the record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from igpub.accounts import Account
from igpub.engage import insights
from igpub.instagram.errors import (
    AuthError,
    ContainerExpiredError,
    InstagramError,
    InvalidRequestError,
    NetworkError,
    NotReadyError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from igpub.observability import logger
from igpub.publishing.deps import Deps, load, usable
from igpub.publishing.failures import container_failure, error_outcome, expired, transient
from igpub.publishing.outcome import Outcome, Status, failed, wait
from igpub.publishing.polling import not_owner
from igpub.publishing.request import PostRequest
from igpub.repositories.idempotency import PublishInProgress
from igpub.repositories.posts import FINAL, NotOwner, PostRecord

QUOTA_UNKNOWN_WAIT_S = 3600
DEFINITIVE_REFUSALS = (
    NotReadyError, QuotaExhaustedError, ContainerExpiredError, RateLimitedError, AuthError, PermissionDeniedError,
    InvalidRequestError,
)


class NotFinal(Exception):
    """An outcome that must not be remembered by the idempotency layer (the step will run again)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome["status"])
        self.outcome = outcome


def publish(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = load(deps, post_id)
    if rec.execution_id != execution_id or rec.status == "cancelled":
        return not_owner(rec, execution_id)
    if rec.status == "published":
        return _published_outcome(rec)
    problem = usable(account, rec)
    if problem or account is None:
        return problem or failed("no account")
    container = rec.publish_container
    if not container:
        return wait(Status.RECREATE, 1)

    def attempt() -> Outcome:
        return _publish_once(deps, rec, req, account, container)

    try:
        if deps.publish_guard is not None:
            return deps.publish_guard(attempt, f"{post_id}:{container}")
        return attempt()
    except NotFinal as nf:
        return nf.outcome
    except PublishInProgress:  # another task publishes this post right now: look again shortly
        return wait(Status.VERIFY, deps.settings.status_poll_interval_s)


def refused(exc: InstagramError) -> bool:
    """A media_publish answer that proves Instagram did not publish: a 4xx refusal it explains (throttled,
    token, permission, parameters, quota, container not ready or expired). Anything else after the request
    was sent (a 5xx whatever its is_transient says, a 2xx without a media id, an unknown error) may hide a
    publish that worked."""
    if isinstance(exc, TransientError) or (exc.http_status or 0) >= 500:
        return False
    return isinstance(exc, DEFINITIVE_REFUSALS)


def _publish_once(deps: Deps, rec: PostRecord, req: PostRequest, account: Account, container: str) -> Outcome:
    token = deps.token(account)
    client = deps.client
    sent = False
    try:
        if rec.publish_attempted_at is not None:
            # a publish was attempted before: it may have worked even if we never heard back
            # counted from when the outcome became unknown: a timeout ends long after the attempt began,
            # and if the task died mid-call (Lambda timeout) the call may have run its full timeout
            ended = rec.publish_unknown_at or rec.publish_attempted_at + int(deps.settings.publish_timeout_s)
            since = deps.clock() - ended
            delay = deps.settings.publish_verify_delay_s
            if since < delay and (rec.verified_at or 0) >= rec.publish_attempted_at:
                # read once already and still FINISHED: wait out the delay without calling Instagram
                raise NotFinal(wait(Status.VERIFY, delay - since))
            st = client.get_container_status(container, token, account_id=account.account_id)
            if st.status_code == "PUBLISHED":
                media_id, unknown = _find_media_id(deps, rec, account, token)
                return _record_published(deps, rec, req, account, token, media_id, recovered=True, unknown=unknown)
            if st.status_code == "EXPIRED":
                raise NotFinal(expired(deps, rec, recreate=True))
            if st.status_code == "ERROR":
                raise NotFinal(container_failure(st, f"the {req.kind}"))
            if st.status_code == "IN_PROGRESS":
                raise NotFinal(wait(Status.NOT_READY, deps.settings.status_poll_interval_s))
            if since < delay:
                # FINISHED, but the earlier attempt may still land at Instagram: give it time first
                deps.posts.update(rec.post_id, deps.clock(), verified_at=int(deps.clock()))
                raise NotFinal(wait(Status.VERIFY, delay - since))
        try:  # recorded before the call, and only while the post is still this execution's and not final
            deps.posts.set_status(rec.post_id, deps.clock(), rec.execution_id, "processing", unless=FINAL,
                                  publish_attempted_at=int(deps.clock()))
        except NotOwner:
            raise NotFinal(not_owner(deps.posts.get(rec.post_id) or rec, rec.execution_id)) from None
        # issue 22: the account read again right before media_publish (a consistent read): once a
        # deauthorization is recorded, no publish starts
        not_usable = usable(deps.accounts.get(account.account_id), rec)
        if not_usable is not None:
            raise NotFinal(not_usable)
        sent = True
        media_id = client.publish(account.account_id, token, container)
    except NotFinal:
        raise
    except NotReadyError:
        raise NotFinal(wait(Status.NOT_READY, deps.settings.status_poll_interval_s)) from None
    except QuotaExhaustedError:
        raise NotFinal(_quota_wait(deps, rec, account, token)) from None
    except ContainerExpiredError:
        raise NotFinal(expired(deps, rec, recreate=True)) from None
    except InstagramError as exc:
        if sent and isinstance(exc, InvalidRequestError | PermissionDeniedError) and refused(exc):
            # a 4xx that is no throttle, quota or readiness answer: confirm with the container's status
            # that nothing was published before calling it failed
            return _confirm_refusal(deps, rec, req, account, token, container, exc)
        # a publish sent now, or an earlier one whose outcome is still unknown (the verify read failed)
        attempted = sent or rec.publish_attempted_at is not None
        if not (isinstance(exc, NetworkError | TransientError) or (attempted and not refused(exc))):
            raise NotFinal(error_outcome(deps, rec, account, exc, retry_status=Status.VERIFY)) from None
        # we do not know whether Instagram published (no answer, a 5xx, a 2xx without a media id, an error
        # that is not a refusal): read the container's status next time, never call it failed unread
        logger.warning("publish outcome unknown; will verify", extra={"error": exc.as_dict()})
        return _unknown(deps, rec, req, account, token, exc, attempted=attempted)
    return _record_published(deps, rec, req, account, token, media_id, recovered=False)


def _unknown(deps: Deps, rec: PostRecord, req: PostRequest, account: Account, token: str, exc: InstagramError, *,
             attempted: bool) -> Outcome:
    """Verify again later; when the retries are used up and a publish was sent, look for the post among the
    account's media (the container's status could not be read) before anything is called failed."""
    deps.posts.update(rec.post_id, deps.clock(), publish_unknown_at=int(deps.clock()))
    out = transient(deps, rec, exc, Status.VERIFY)
    if out["status"] == Status.FAILED and attempted:
        rec = deps.posts.get(rec.post_id) or rec
        media_id, _why = _find_media_id(deps, rec, account, token)
        if media_id:
            logger.info("publish confirmed by the account's media", extra={"post_id": rec.post_id})
            return _record_published(deps, rec, req, account, token, media_id, recovered=True)
    raise NotFinal(out)


def _confirm_refusal(deps: Deps, rec: PostRecord, req: PostRequest, account: Account, token: str, container: str,
                     exc: InstagramError) -> Outcome:
    try:
        st = deps.client.get_container_status(container, token, account_id=account.account_id)
    except InstagramError as read:  # cannot confirm: treat the answer as unknown and verify later
        logger.warning("publish refusal unconfirmed; will verify", extra={"error": read.as_dict()})
        return _unknown(deps, rec, req, account, token, exc, attempted=True)
    if st.status_code == "PUBLISHED":
        media_id, unknown = _find_media_id(deps, rec, account, token)
        return _record_published(deps, rec, req, account, token, media_id, recovered=True, unknown=unknown)
    if rec.publish_unknown_at is None:  # this attempt is proven to have published nothing, and no earlier one
        deps.posts.update(rec.post_id, deps.clock(), remove=("publish_attempted_at",))
    raise NotFinal(error_outcome(deps, rec, account, exc, retry_status=Status.VERIFY))


MEDIA_SCAN = 25  # recent media read to find a recovered publish (Instagram lists the newest first)
CLOCK_SKEW_S = 120


def _find_media_id(deps: Deps, rec: PostRecord, account: Account, token: str) -> tuple[str | None, str | None]:
    """The media a PUBLISHED container became, as (media_id, why not). Instagram does not link the two, so:
    the account's recent media with this caption, published no earlier than our attempt, that no other post
    of the account has recorded. Only a single candidate is taken, and only while no other post with the same
    caption has a publish in flight whose media is unrecorded (it could be that one's): otherwise None and the
    reason, and the first comment and insights are skipped rather than put on someone else's media."""
    attempted = (rec.publish_attempted_at or rec.started_at) - CLOCK_SKEW_S
    try:
        listed = deps.client.list_media(account.account_id, token, limit=MEDIA_SCAN)
    except InstagramError as exc:
        return None, f"the account's media could not be read ({exc.advice})"
    same = [m for m in listed if (m.caption or "") == rec.caption and ((_epoch(m.timestamp) or attempted) >= attempted)]
    others = [p for p in deps.posts.attempted_since(account.account_id, int(attempted)) if p.post_id != rec.post_id]
    taken = {p.media_id for p in others if p.media_id}
    candidates = [m.id for m in same if m.id not in taken]
    # posts with this caption whose publish was sent and whose media is unrecorded: a candidate may be theirs
    rivals = [p.post_id for p in others if p.publish_attempted_at and not p.media_id and p.caption == rec.caption
              and (p.status != "failed" or p.may_be_live)]
    if len(candidates) == 1 and not rivals:
        return candidates[0], None
    if not candidates:
        return None, "no media of the account with this caption, published since the attempt, is free to take"
    return None, (f"{len(candidates)} media of the account have this caption"
                  + (f" and post(s) {', '.join(sorted(rivals))} with the same caption are unaccounted for"
                     if rivals else "") + ": igpub cannot tell which one this post became")


def _epoch(timestamp: Any) -> float | None:
    """Instagram timestamps: ISO 8601 such as 2019-09-26T22:36:43+0000 (or a datetime / epoch)."""
    if timestamp is None:
        return None
    if isinstance(timestamp, int | float):
        return float(timestamp)
    if isinstance(timestamp, datetime):
        return timestamp.timestamp()
    try:
        return datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _record_published(
    deps: Deps,
    rec: PostRecord,
    req: PostRequest,
    account: Account,
    token: str,
    media_id: str | None,
    *,
    recovered: bool,
    unknown: str | None = None,
) -> Outcome:
    now = deps.clock()
    fields: dict[str, Any] = {"published_at": int(now)}
    if media_id:
        fields["media_id"] = media_id
        fields.update(insights.first_due(rec.kind, now))  # on the insights schedule (1 h, 24 h, 7 d)
    else:  # published, but not known as which media: no insights, and the first comment is skipped
        fields["media_id_unknown"] = unknown or "Instagram did not say which media the post became"
        if rec.first_comment_text:
            fields["first_comment_status"] = "failed"
            fields["first_comment_reason"] = (
                "skipped: igpub could not tell which media the post became (" + fields["media_id_unknown"] + "), "
                "so it does not guess where to comment; add the comment by hand if wanted")
        logger.warning("published, media unknown", extra={"post_id": rec.post_id, "why": fields["media_id_unknown"]})
    try:
        rec = deps.posts.set_status(rec.post_id, now, rec.execution_id, "published",
                                    remove=("failure_reason", "failure_code"), **fields)
    except NotOwner:  # cannot happen while publish checks the owner first; never overwrite another's record
        logger.error("published post owned by another execution", extra={"post_id": rec.post_id})
        raise NotFinal(not_owner(deps.posts.get(rec.post_id) or rec, rec.execution_id)) from None
    permalink = None
    if media_id:
        try:  # best effort: a fresh media can answer 100/33 for a while; never fail a published post
            permalink = deps.client.get_media(media_id, token, account_id=account.account_id).permalink
        except InstagramError as exc:
            logger.info("permalink not available yet", extra={"code": exc.code})
        if permalink:
            rec = deps.posts.update(rec.post_id, deps.clock(), permalink=permalink)
    logger.info("published", extra={"post_id": rec.post_id, "media_id": media_id, "recovered": recovered})
    return _published_outcome(rec)


def _published_outcome(rec: PostRecord) -> Outcome:
    # account_id and kind feed the state machine's igpub.PostPublished event
    # a first comment still to post (or whose attempt must be checked) sends the execution to FirstComment
    status = Status.PUBLISHED_COMMENT if rec.first_comment_status == "pending" else Status.PUBLISHED
    return {
        "status": status, "media_id": rec.media_id, "permalink": rec.permalink,
        "account_id": rec.account_id, "kind": rec.kind,
    }


def _quota_wait(deps: Deps, rec: PostRecord, account: Account, token: str) -> Outcome:
    """Wait until the oldest post of the quota window leaves it (the window and size come from
    content_publishing_limit; the publish times from our own records)."""
    now = deps.clock()
    try:
        limit = deps.client.get_publishing_limit(account.account_id, token)
        duration = limit.quota_duration or 86400
        total = limit.quota_total
    except InstagramError:
        duration, total = 86400, None
    ours = deps.posts.published_since(account.account_id, int(now - duration))
    wait_s = ours[0] + duration - now + 5 if ours else QUOTA_UNKNOWN_WAIT_S
    logger.info("publishing quota full", extra={"quota_total": total, "window_posts": len(ours), "wait_s": wait_s})
    deps.posts.update(rec.post_id, now, waiting_for="quota")
    out = wait(Status.QUOTA_FULL, min(max(wait_s, 30), duration + 5))
    out["quota_total"] = total
    return out
