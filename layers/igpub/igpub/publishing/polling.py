"""The CreateContainers and CheckContainers tasks: create each item's container (resuming where a
retried task stopped), poll their ``status_code`` until FINISHED, and make the carousel's parent.
https://developers.facebook.com/docs/instagram-platform/content-publishing"""

from __future__ import annotations

from typing import Any

from igpub.accounts import Account
from igpub.instagram.errors import InstagramError
from igpub.observability import logger
from igpub.publishing.deps import Deps, load, usable
from igpub.publishing.failures import container_failure, error_outcome, expired
from igpub.publishing.kinds import KINDS, parent_params
from igpub.publishing.outcome import Outcome, Status, failed, wait
from igpub.publishing.request import MediaItem, PostRequest
from igpub.repositories.posts import FINAL, NotOwner, PostRecord


def _media_url(deps: Deps, item: MediaItem) -> str:
    if item.url:
        return item.url
    assert item.key is not None
    return deps.media.presigned_url(item.key, deps.settings.presigned_url_ttl_s)


def item_params(deps: Deps, req: PostRequest, caption: str) -> list[dict[str, Any]]:
    """The container parameters of each item (a single post has one)."""
    return KINDS[req.kind].items(req, caption, lambda item: _media_url(deps, item))


def create(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = load(deps, post_id)
    if rec.status == "scheduled":  # the claim: after this, cancel and reschedule refuse
        claimed = deps.posts.claim_for_publishing(post_id, execution_id, deps.clock())
        rec = claimed or deps.posts.get(post_id) or rec
    if rec.status == "cancelled" or (rec.execution_id != execution_id and rec.status != "published"):
        return _not_mine(rec)
    if rec.status in ("published", "failed"):
        return {"status": Status.FINISHED} if rec.status == "published" else failed(rec.failure_reason or "failed")
    problem = usable(account, rec)
    if problem or account is None:
        return problem or failed("no account")
    token = deps.token(account)
    params = item_params(deps, req, rec.caption)
    created = list(rec.item_containers)
    try:
        for p in params[len(created) :]:  # resume where a retried task stopped
            container = deps.client.create_container(account.account_id, token, p)
            created.append(container.id)
            rec = deps.posts.update(post_id, deps.clock(), item_containers=created)
    except InstagramError as exc:
        logger.warning("container creation failed", extra={"error": exc.as_dict()})
        return error_outcome(deps, rec, account, exc, retry_status=Status.RETRY_CREATE)
    try:
        rec = deps.posts.set_status(post_id, deps.clock(), execution_id, "processing", unless=FINAL)
    except NotOwner:
        return _not_mine(deps.posts.get(post_id) or rec)
    return _check(deps, rec, req, account, token, count=True)


def _not_mine(rec: PostRecord) -> Outcome:
    """The post was cancelled, or rescheduled to another execution, before this one claimed it."""
    if rec.status == "cancelled":
        logger.info("post cancelled before publishing", extra={"post_id": rec.post_id})
        return {"status": Status.CANCELLED, "reason": "the post was cancelled before publishing began"}
    logger.info("post rescheduled to another execution", extra={"post_id": rec.post_id, "owner": rec.execution_id})
    return {"status": Status.RESCHEDULED, "reason": f"the post was rescheduled; {rec.execution_id} publishes it"}


def check(deps: Deps, post_id: str, execution_id: str) -> Outcome:
    rec, req, account = load(deps, post_id)
    if rec.execution_id != execution_id or rec.status == "cancelled":
        return not_owner(rec, execution_id)
    problem = usable(account, rec)
    if problem or account is None:
        return problem or failed("no account")
    return _check(deps, rec, req, account, deps.token(account), count=True)


def not_owner(rec: PostRecord, execution_id: str) -> Outcome:
    """Another execution owns the post (or igpub cancel cleared it as abandoned): this one ends without
    changing it."""
    if rec.execution_id == execution_id and rec.status == "cancelled":
        return {"status": Status.CANCELLED, "reason": "the post was cancelled (igpub cancel) before its publish"}
    logger.warning("post owned by another execution", extra={"post_id": rec.post_id, "owner": rec.execution_id,
                                                              "execution": execution_id})
    return {"status": Status.DUPLICATE, "reason": f"post {rec.post_id} is handled by {rec.execution_id}"}


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
                return container_failure(st, what)
            if st.status_code == "EXPIRED":
                return expired(deps, rec)
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
                return container_failure(st, f"the {req.kind}")
            if st.status_code == "EXPIRED":
                return expired(deps, rec)
            if st.status_code not in ("FINISHED", "PUBLISHED"):
                pending = [rec.parent_container or ""]
    except InstagramError as exc:
        return error_outcome(deps, rec, account, exc, retry_status=Status.RATE_LIMITED)
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
