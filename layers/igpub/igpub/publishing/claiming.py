"""The Prepare task: validate the request (and the bucket's media), claim the post id for this
execution (a second execution with the same id ends as a duplicate), check the account."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from igpub.observability import logger
from igpub.publishing.deps import Deps, deauthorized
from igpub.publishing.errors import RequestInvalid
from igpub.publishing.outcome import Outcome, Status, failed
from igpub.publishing.request import PostRequest, parse_request
from igpub.repositories.posts import PostRecord, PostStatus, iso


def _check_bucket_media(deps: Deps, req: PostRequest) -> tuple[list[str], bool]:
    """Problems with the bucket's media, and whether any item needs preparing (igpub.media.prepare.plan_post:
    formats, ratios and sizes igpub fixes are work for the MediaFunction, not problems)."""
    from igpub.media.prepare import plan_post  # only prepare reads media: other steps' cold starts skip it

    problems, work = plan_post(lambda key: deps.media.peek(key), req)
    return problems, any(work)


def prepare(deps: Deps, post_id: str, request: dict[str, Any], execution_id: str) -> Outcome:
    now = deps.clock()
    try:
        req = parse_request(request, allow_http=deps.settings.allow_http_media)
        problems, media_work = _check_bucket_media(deps, req)
        if problems:
            raise RequestInvalid(problems)
    except RequestInvalid as exc:
        reason = "The post request is invalid: " + " ".join(f"({i}) {p}" for i, p in enumerate(exc.problems, 1))
        # failed only if the claim is won: an invalid second request never touches another execution's post
        rec, owned = _claim(deps, post_id, request, execution_id, now, status="failed",
                            failure_reason=reason, failure_code="invalid")
        if not owned:
            return _duplicate(post_id, rec)
        return failed(reason, "invalid")
    caption: str = req.caption
    tags: list[str] = []
    comment = req.first_comment or ""
    if req.hashtag_pool and deps.hashtags is not None:
        if req.hashtags_in == "first_comment":  # the pool's hashtags go into the first comment
            comment, tags = deps.hashtags.caption_for(req.model_copy(update={"caption": comment}), post_id=post_id)
        else:
            caption, tags = deps.hashtags.caption_for(req, post_id=post_id)
    first = {"first_comment_text": comment.strip(), "first_comment_status": "pending"} if comment.strip() else {}
    scheduled = req.publish_at is not None and req.publish_at.timestamp() > now
    problem = _account_problem(deps, req.account_id)
    # a post that cannot be published is recorded failed at once (never left in creating with nothing
    # to move it on, e.g. when this task runs alone: make invoke)
    rec, owned = _claim(
        deps,
        post_id,
        req.model_dump(mode="json"),
        execution_id,
        now,
        status="failed" if problem else "scheduled" if scheduled else "creating",
        caption=caption,
        hashtags=tags,
        account_id=req.account_id,
        kind=req.kind,
        **first,
        **({"failure_reason": problem["reason"], "failure_code": problem["code"]} if problem else {}),
    )
    if not owned:
        return _duplicate(post_id, rec)
    if problem:
        return problem
    then: Outcome = {"status": Status.READY}
    if scheduled and req.publish_at is not None:
        at = datetime.fromtimestamp(math.ceil(req.publish_at.timestamp()), UTC)  # whole seconds, never early
        then = {"status": Status.SCHEDULED, "publish_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if media_work:  # the MediaFunction prepares the media first, then answers ``then`` (igpub.media.prepare)
        return {"status": Status.PREPARE_MEDIA, "then": dict(then)}
    return then


def _duplicate(post_id: str, rec: PostRecord) -> Outcome:
    logger.info("duplicate submission", extra={"post_id": post_id, "owner": rec.execution_id})
    return {"status": Status.DUPLICATE, "reason": f"post {post_id} is already handled by {rec.execution_id}"}


def _account_problem(deps: Deps, account_id: str) -> Outcome | None:
    account = deps.accounts.get(account_id)
    if account is None:
        return failed(
            f"Account {account_id} is not connected to igpub. Connect it first (igpub connect).", "no_account"
        )
    if account.status == "deauthorized":  # issue 22
        return deauthorized(account)
    if account.status != "active":
        return failed(
            f"@{account.username} needs re-authorisation ({account.reauth_reason or 'token invalid'}). "
            "Reconnect it (igpub connect) and post again.",
            "needs_reauth",
        )
    return None


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
