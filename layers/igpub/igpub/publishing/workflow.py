"""The publishing workflow's task logic, one function per Step Functions task.

Every function returns an :class:`~igpub.publishing.outcome.Outcome` (see that module for the
contract with the state machine's Choice and Wait states). Expected problems never raise.

Never twice: container ids are saved before anything else happens to them, ``publish_attempted_at``
is saved before ``media_publish``, and any publish after an attempt first reads the container's
``status_code`` (PUBLISHED means done). The publish itself runs under Powertools Idempotency keyed
by post and container, so two concurrent tasks cannot both call Instagram, and a finished result
is answered from the record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from igpub import insights
from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import (
    AuthError,
    ContainerExpiredError,
    InstagramError,
    NetworkError,
    NotReadyError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
)
from igpub.instagram.models import ContainerStatus
from igpub.observability import logger, metrics
from igpub.publishing import media_check
from igpub.publishing.errors import RequestInvalid
from igpub.publishing.kinds import KINDS, parent_params
from igpub.publishing.outcome import Outcome, Status, failed, wait
from igpub.publishing.request import MediaItem, PostRequest, parse_request
from igpub.repositories.accounts import AccountRepository, StaleTokenVersion
from igpub.repositories.idempotency import PublishInProgress
from igpub.repositories.media import MediaStore
from igpub.repositories.posts import PostRecord, PostRepository, PostStatus, iso
from igpub.repositories.tokens import TokenCipher

MAX_TRANSIENT_RETRIES = 8
MAX_RECREATIONS = 2
TRANSIENT_WAIT_S = 10
QUOTA_UNKNOWN_WAIT_S = 3600


class NotFinal(Exception):
    """An outcome that must not be remembered by the idempotency layer (the step will run again)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome["status"])
        self.outcome = outcome


class PublishGuard(Protocol):
    """Runs a publish attempt at most once at a time per key, and answers a finished one from its
    record (igpub.repositories.idempotency); raises PublishInProgress while another runs."""

    def __call__(self, attempt: Callable[[], Outcome], key: str) -> Outcome: ...


@dataclass
class Deps:
    settings: Settings
    posts: PostRepository
    accounts: AccountRepository
    cipher: TokenCipher
    client: InstagramClient
    media: MediaStore
    clock: Callable[[], float] = time.time
    publish_guard: PublishGuard | None = None
    hashtags: Any = None  # igpub.hashtags.HashtagService when the feature is deployed
    _tokens: dict[tuple[str, int], str] = field(default_factory=dict, repr=False)

    def token(self, account: Account) -> str:
        """The account's plaintext token, decrypted once per token version per process."""
        key = (account.account_id, account.token_version)
        if key not in self._tokens:
            self._tokens.clear()
            self._tokens[key] = self.cipher.decrypt(account.token_ciphertext, account_id=account.account_id)
        return self._tokens[key]


# ----------------------------------------------------------------------------------- outcomes
def _auth_failure(deps: Deps, account: Account, exc: AuthError) -> Outcome:
    reason = (
        f"Instagram no longer accepts @{account.username}'s access token ({exc.advice}). "
        "Reconnect the account (igpub connect), then post again."
    )
    try:
        deps.accounts.mark_needs_reauth(
            account.account_id, reason=exc.advice, expected_version=account.token_version, now=deps.clock()
        )
    except StaleTokenVersion:
        reason = "The account's token changed while posting (it was reconnected); post again."
    return failed(reason, "needs_reauth")


def _transient(deps: Deps, rec: PostRecord, exc: InstagramError, status: Status) -> Outcome:
    n = deps.posts.increment(rec.post_id, "transient_retries", deps.clock())
    if n > MAX_TRANSIENT_RETRIES:
        return failed(
            f"Instagram kept failing ({exc.advice}); gave up after {n - 1} retries. Try again later.", "transient"
        )
    return wait(status, TRANSIENT_WAIT_S * min(n, 6))


def _error_outcome(
    deps: Deps, rec: PostRecord, account: Account, exc: InstagramError, *, retry_status: Status
) -> Outcome:
    if isinstance(exc, RateLimitedError):
        limited = Status.RETRY_CREATE if retry_status == Status.RETRY_CREATE else Status.RATE_LIMITED
        return wait(limited, exc.retry_after_s)
    if isinstance(exc, AuthError):
        return _auth_failure(deps, account, exc)
    if isinstance(exc, TransientError):
        return _transient(deps, rec, exc, retry_status)
    return failed(exc.advice, exc.kind if hasattr(exc, "kind") else "instagram")


# ----------------------------------------------------------------------------------- prepare
def _check_bucket_media(deps: Deps, req: PostRequest) -> list[str]:
    problems: list[str] = []
    spec = KINDS[req.kind]
    for item in req.media:
        if not item.key:
            continue
        peek = deps.media.peek(item.key)
        if peek is None:
            problems.append(f"{item.key}: no such file in the media bucket {deps.media.bucket}")
            continue
        if item.type == "image":
            problems += media_check.check_image(peek.head, peek.size, role=spec.image_role, name=item.key)
        else:
            problems += media_check.check_video(peek.head, peek.size, role=spec.video_role, name=item.key)
    return problems


def prepare(deps: Deps, post_id: str, request: dict[str, Any], execution_id: str) -> Outcome:
    now = deps.clock()
    try:
        req = parse_request(request, allow_http=deps.settings.allow_http_media)
        problems = _check_bucket_media(deps, req)
        if problems:
            raise RequestInvalid(problems)
    except RequestInvalid as exc:
        _claim(deps, post_id, request, execution_id, now, status="failed")
        return failed(
            "The post request is invalid: " + " ".join(f"({i}) {p}" for i, p in enumerate(exc.problems, 1)), "invalid"
        )
    caption, tags = req.caption, []
    comment = req.first_comment or ""
    if req.hashtag_pool and deps.hashtags is not None:
        if req.hashtags_in == "first_comment":  # the pool's hashtags go into the first comment
            comment, tags = deps.hashtags.caption_for(req.model_copy(update={"caption": comment}), post_id=post_id)
        else:
            caption, tags = deps.hashtags.caption_for(req, post_id=post_id)
    first = {"first_comment_text": comment.strip(), "first_comment_status": "pending"} if comment.strip() else {}
    scheduled = req.publish_at is not None and req.publish_at.timestamp() > now
    rec, owned = _claim(
        deps,
        post_id,
        req.model_dump(mode="json"),
        execution_id,
        now,
        status="scheduled" if scheduled else "creating",
        caption=caption,
        hashtags=tags,
        account_id=req.account_id,
        kind=req.kind,
        **first,
    )
    if not owned:
        logger.info("duplicate submission", extra={"post_id": post_id, "owner": rec.execution_id})
        return {"status": Status.DUPLICATE, "reason": f"post {post_id} is already handled by {rec.execution_id}"}
    account = deps.accounts.get(req.account_id)
    if account is None:
        return failed(
            f"Account {req.account_id} is not connected to igpub. Connect it first (igpub connect).", "no_account"
        )
    if account.status != "active":
        return failed(
            f"@{account.username} needs re-authorisation ({account.reauth_reason or 'token invalid'}). "
            "Reconnect it (igpub connect) and post again.",
            "needs_reauth",
        )
    if scheduled and req.publish_at is not None:
        return {"status": Status.SCHEDULED, "publish_at": req.publish_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {"status": Status.READY}


def _claim(
    deps: Deps,
    post_id: str,
    request: dict[str, Any],
    execution_id: str,
    now: float,
    *,
    status: PostStatus,
    caption: str = "",
    hashtags: list[str] | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    **extra: Any,
) -> tuple[PostRecord, bool]:
    record = PostRecord(
        post_id=post_id,
        account_id=account_id or str(request.get("account_id") or "unknown"),
        kind=kind or str(request.get("kind") or "unknown"),
        request=json.dumps(request, sort_keys=True, default=str),
        caption=caption,
        status=status,
        execution_id=execution_id,
        hashtags=hashtags or [],
        created_at=iso(now),
        updated_at=iso(now),
        started_at=int(now),
        **extra,
    )
    return deps.posts.claim(record)


# ----------------------------------------------------------------------------------- containers
def _media_url(deps: Deps, item: MediaItem) -> str:
    if item.url:
        return item.url
    assert item.key is not None
    return deps.media.presigned_url(item.key, deps.settings.presigned_url_ttl_s)


def item_params(deps: Deps, req: PostRequest, caption: str) -> list[dict[str, Any]]:
    """The container parameters of each item (a single post has one)."""
    return KINDS[req.kind].items(req, caption, lambda item: _media_url(deps, item))


def _load(deps: Deps, post_id: str) -> tuple[PostRecord, PostRequest, Account | None]:
    rec = deps.posts.get(post_id)
    if rec is None:
        raise LookupError(f"post {post_id} has no record")
    req = PostRequest.model_validate_json(rec.request)
    return rec, req, deps.accounts.get(rec.account_id)


def _usable(account: Account | None, rec: PostRecord) -> Outcome | None:
    if account is None:
        return failed(f"Account {rec.account_id} is no longer connected.", "no_account")
    if account.status != "active":
        return failed(
            f"@{account.username} needs re-authorisation ({account.reauth_reason}). Reconnect it and post again.",
            "needs_reauth",
        )
    return None


def create(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = _load(deps, post_id)
    if rec.status in ("published", "failed"):
        return {"status": Status.FINISHED} if rec.status == "published" else failed(rec.failure_reason or "failed")
    problem = _usable(account, rec)
    if problem or account is None:
        return problem or failed("no account")
    token = deps.token(account)
    now = deps.clock()
    if rec.status == "scheduled":
        rec = deps.posts.update(post_id, now, status="creating")
    params = item_params(deps, req, rec.caption)
    created = list(rec.item_containers)
    try:
        for p in params[len(created) :]:  # resume where a retried task stopped
            container = deps.client.create_container(account.account_id, token, p)
            created.append(container.id)
            rec = deps.posts.update(post_id, deps.clock(), item_containers=created)
    except InstagramError as exc:
        logger.warning("container creation failed", extra={"error": exc.as_dict()})
        return _error_outcome(deps, rec, account, exc, retry_status=Status.RETRY_CREATE)
    rec = deps.posts.update(post_id, deps.clock(), status="processing")
    return _check(deps, rec, req, account, token, count=True)


def check(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = _load(deps, post_id)
    problem = _usable(account, rec)
    if problem or account is None:
        return problem or failed("no account")
    return _check(deps, rec, req, account, deps.token(account), count=True)


def _container_failure(status: ContainerStatus, what: str) -> Outcome:
    detail = (status.status or "").strip()
    return failed(
        f"Instagram could not process {what}: {detail or 'no details given'}. " + media_check_advice(detail),
        "container_error",
    )


def media_check_advice(detail: str) -> str:
    """Advice for the subcode Instagram puts in a container's `status` text."""
    from igpub.instagram.errors import advice_for_subcode

    for token in detail.replace("(", " ").replace(")", " ").split():
        if token.isdigit() and len(token) == 7:
            return advice_for_subcode(int(token))
    return "Check the media against Instagram's specifications and post again."


def _check(deps: Deps, rec: PostRecord, req: PostRequest, account: Account, token: str, *, count: bool) -> Outcome:
    settings = deps.settings
    checks = deps.posts.increment(rec.post_id, "status_checks", deps.clock()) if count else rec.status_checks
    try:
        pending = [c for c in rec.item_containers if c not in _ready(rec)]
        ready = list(_ready(rec))
        for i, cid in enumerate(rec.item_containers):
            if cid in ready:
                continue
            st = deps.client.get_container_status(cid, token, account_id=account.account_id)
            what = f"item {i + 1} of the {req.kind}" if KINDS[req.kind].parent else f"the {req.kind}"
            if st.status_code == "ERROR":
                return _container_failure(st, what)
            if st.status_code == "EXPIRED":
                return _expired(deps, rec)
            if st.status_code in ("FINISHED", "PUBLISHED"):
                ready.append(cid)
        if ready != list(_ready(rec)):
            rec = deps.posts.update(rec.post_id, deps.clock(), ready_containers=ready)
        pending = [c for c in rec.item_containers if c not in ready]
        if not pending and KINDS[req.kind].parent:
            if rec.parent_container is None:
                parent = deps.client.create_container(
                    account.account_id, token, parent_params(req, rec.caption, rec.item_containers)
                )
                rec = deps.posts.update(rec.post_id, deps.clock(), parent_container=parent.id)
            st = deps.client.get_container_status(rec.parent_container or "", token, account_id=account.account_id)
            if st.status_code == "ERROR":
                return _container_failure(st, f"the {req.kind}")
            if st.status_code == "EXPIRED":
                return _expired(deps, rec)
            if st.status_code not in ("FINISHED", "PUBLISHED"):
                pending = [rec.parent_container or ""]
    except InstagramError as exc:
        return _error_outcome(deps, rec, account, exc, retry_status=Status.RATE_LIMITED)
    if not pending:
        return {"status": Status.FINISHED, "checks": checks}
    if checks >= settings.max_status_checks:
        waited = settings.max_status_checks * settings.status_poll_interval_s
        return failed(
            f"Instagram was still processing the media after {checks} status checks (about {waited} s). "
            "Large videos can take longer: raise MaxStatusChecks, or post a smaller file.",
            "timeout",
        )
    out = wait(Status.IN_PROGRESS, settings.status_poll_interval_s)
    out["checks"] = checks
    return out


def _ready(rec: PostRecord) -> list[str]:
    return list(rec.ready_containers)


def _expired(deps: Deps, rec: PostRecord, *, recreate: bool = False) -> Outcome:
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


# ----------------------------------------------------------------------------------- publish
def publish(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = _load(deps, post_id)
    if rec.status == "published":
        return _published_outcome(rec)
    problem = _usable(account, rec)
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
                raise NotFinal(_expired(deps, rec, recreate=True))
            if st.status_code == "ERROR":
                raise NotFinal(_container_failure(st, f"the {req.kind}"))
            if st.status_code == "IN_PROGRESS":
                raise NotFinal(wait(Status.NOT_READY, deps.settings.status_poll_interval_s))
            if since < delay:
                # FINISHED, but the earlier attempt may still land at Instagram: give it time first
                deps.posts.update(rec.post_id, deps.clock(), verified_at=int(deps.clock()))
                raise NotFinal(wait(Status.VERIFY, delay - since))
        deps.posts.update(rec.post_id, deps.clock(), publish_attempted_at=int(deps.clock()))
        media_id = client.publish(account.account_id, token, container)
    except NotFinal:
        raise
    except NotReadyError:
        raise NotFinal(wait(Status.NOT_READY, deps.settings.status_poll_interval_s)) from None
    except QuotaExhaustedError:
        raise NotFinal(_quota_wait(deps, rec, account, token)) from None
    except ContainerExpiredError:
        raise NotFinal(_expired(deps, rec, recreate=True)) from None
    except (NetworkError, TransientError) as exc:
        # we do not know whether Instagram published: read the container's status next time
        logger.warning("publish outcome unknown; will verify", extra={"error": exc.as_dict()})
        deps.posts.update(rec.post_id, deps.clock(), publish_unknown_at=int(deps.clock()))
        raise NotFinal(_transient(deps, rec, exc, Status.VERIFY)) from None
    except InstagramError as exc:
        raise NotFinal(_error_outcome(deps, rec, account, exc, retry_status=Status.VERIFY)) from None
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
        fields.update(insights.first_due(req.kind, now))  # on the insights schedule (1 h, 24 h, 7 d)
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
    return {"status": Status.PUBLISHED, "media_id": rec.media_id, "permalink": rec.permalink}


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


# ----------------------------------------------------------------------------------- failure
def fail(deps: Deps, post_id: str, outcome: dict[str, Any] | None, error: dict[str, Any] | None) -> Outcome:
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
    if rec is None:
        return {"status": Status.FAILED, "reason": reason}
    if rec.status == "published":  # never turn a published post into a failed one
        return {"status": Status.PUBLISHED, "reason": "already published"}
    if code == "aws_transient" and rec.publish_attempted_at:
        reason = reason.replace(
            "post again in a few minutes.",
            "igpub could not confirm whether Instagram published it, so check the account before posting again.",
        )
    deps.posts.update(post_id, now, status="failed", failure_reason=reason, failure_code=code)
    metrics.add_dimension(name="kind", value=rec.kind)
    metrics.add_metric(name="PostsFailed", unit="Count", value=1)
    logger.info("post failed", extra={"post_id": post_id, "code": code})
    return failed(reason, code)
