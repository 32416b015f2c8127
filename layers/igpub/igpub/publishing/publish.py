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
    ContainerExpiredError,
    InstagramError,
    NetworkError,
    NotReadyError,
    QuotaExhaustedError,
    TransientError,
)
from igpub.observability import logger, metrics
from igpub.publishing.deps import Deps, load, usable
from igpub.publishing.failures import container_failure, error_outcome, expired, transient
from igpub.publishing.outcome import Outcome, Status, failed, wait
from igpub.publishing.request import PostRequest
from igpub.repositories.idempotency import PublishInProgress
from igpub.repositories.posts import PostRecord

QUOTA_UNKNOWN_WAIT_S = 3600


class NotFinal(Exception):
    """An outcome that must not be remembered by the idempotency layer (the step will run again)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome["status"])
        self.outcome = outcome


def publish(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = load(deps, post_id)
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


def _publish_once(deps: Deps, rec: PostRecord, req: PostRequest, account: Account, container: str) -> Outcome:
    token = deps.token(account)
    client = deps.client
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
                media_id = _find_media_id(deps, rec, account, token)
                return _record_published(deps, rec, req, account, token, media_id, recovered=True)
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
        deps.posts.update(rec.post_id, deps.clock(), publish_attempted_at=int(deps.clock()))
        # issue 22: the account read again right before media_publish (a consistent read): once a
        # deauthorization is recorded, no publish starts
        refused = usable(deps.accounts.get(account.account_id), rec)
        if refused is not None:
            raise NotFinal(refused)
        media_id = client.publish(account.account_id, token, container)
    except NotFinal:
        raise
    except NotReadyError:
        raise NotFinal(wait(Status.NOT_READY, deps.settings.status_poll_interval_s)) from None
    except QuotaExhaustedError:
        raise NotFinal(_quota_wait(deps, rec, account, token)) from None
    except ContainerExpiredError:
        raise NotFinal(expired(deps, rec, recreate=True)) from None
    except (NetworkError, TransientError) as exc:
        # we do not know whether Instagram published: read the container's status next time
        logger.warning("publish outcome unknown; will verify", extra={"error": exc.as_dict()})
        deps.posts.update(rec.post_id, deps.clock(), publish_unknown_at=int(deps.clock()))
        raise NotFinal(transient(deps, rec, exc, Status.VERIFY)) from None
    except InstagramError as exc:
        raise NotFinal(error_outcome(deps, rec, account, exc, retry_status=Status.VERIFY)) from None
    return _record_published(deps, rec, req, account, token, media_id, recovered=False)


def _find_media_id(deps: Deps, rec: PostRecord, account: Account, token: str) -> str | None:
    """The media a PUBLISHED container became. Instagram does not link the two, so: the newest of
    the account's recent media with this caption, published no earlier than our attempt."""
    attempted = (rec.publish_attempted_at or rec.started_at) - 120  # clock skew allowance
    try:
        for media in deps.client.list_media(account.account_id, token, limit=10):
            when = _epoch(media.timestamp)
            if (media.caption or "") == rec.caption and (when is None or when >= attempted):
                return media.id
    except InstagramError:
        return None
    return None


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
) -> Outcome:
    now = deps.clock()
    fields: dict[str, Any] = {"status": "published", "published_at": int(now)}
    if media_id:
        fields["media_id"] = media_id
        fields.update(insights.first_due(rec.kind, now))  # on the insights schedule (1 h, 24 h, 7 d)
    rec = deps.posts.update(rec.post_id, now, remove=("failure_reason", "failure_code"), **fields)
    permalink = None
    if media_id:
        try:  # best effort: a fresh media can answer 100/33 for a while; never fail a published post
            permalink = deps.client.get_media(media_id, token, account_id=account.account_id).permalink
        except InstagramError as exc:
            logger.info("permalink not available yet", extra={"code": exc.code})
        if permalink:
            rec = deps.posts.update(rec.post_id, deps.clock(), permalink=permalink)
    metrics.add_dimension(name="kind", value=req.kind)
    metrics.add_metric(name="PostsPublished", unit="Count", value=1)
    metrics.add_metric(name="StatusChecksPerPost", unit="Count", value=rec.status_checks)
    metrics.add_metric(name="SecondsToPublish", unit="Seconds", value=max(0.0, now - rec.started_at))
    logger.info("published", extra={"post_id": rec.post_id, "media_id": media_id, "recovered": recovered})
    return _published_outcome(rec)


def _published_outcome(rec: PostRecord) -> Outcome:
    # account_id and kind feed the state machine's igpub.PostPublished event
    return {
        "status": Status.PUBLISHED, "media_id": rec.media_id, "permalink": rec.permalink,
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
