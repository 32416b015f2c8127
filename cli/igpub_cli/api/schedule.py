"""Cancel or reschedule a scheduled post: conditional writes that race the claim at ``publish_at``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import parse_request, schedule_problems
from igpub.repositories.posts import PostRecord
from igpub_cli.api.checks import parse_time
from igpub_cli.api.deps import Submission, execution_arn, posts_repo
from igpub_cli.deployment import Deployment


def _not_scheduled(rec: PostRecord) -> str:
    """Why a post can no longer be cancelled or moved."""
    if rec.status == "published":
        return f"post {rec.post_id} is already published ({rec.permalink or rec.media_id})"
    if rec.status == "failed":
        return f"post {rec.post_id} already failed: {rec.failure_reason}"
    if rec.status == "cancelled":
        return f"post {rec.post_id} is already cancelled"
    return (f"publishing of post {rec.post_id} has begun (status {rec.status} since {rec.updated_at[:19]} UTC): "
            "igpub no longer cancels or moves it, to never leave half a post on Instagram")


def _get_post(dep: Deployment, post_id: str) -> PostRecord:
    rec = posts_repo(dep).get(post_id)
    if rec is None:
        raise RequestInvalid([f"no post {post_id} (see igpub posts); a post just submitted is recorded within seconds"])
    return rec


def _stop(dep: Deployment, execution_id: str, cause: str) -> None:
    sfn = dep.client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=execution_id, cause=cause)
    except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.ClientError):
        pass  # already ended: the claim after the wait refuses a cancelled or moved post anyway


def _execution_ended(dep: Deployment, execution_id: str) -> str | None:
    """How the execution ended (SUCCEEDED, FAILED, ABORTED, TIMED_OUT, or "never started"); None while it runs
    (or when Step Functions cannot say)."""
    sfn = dep.client("stepfunctions")
    try:
        status = str(sfn.describe_execution(executionArn=execution_id)["status"])
    except sfn.exceptions.ExecutionDoesNotExist:
        return "never started"
    except sfn.exceptions.ClientError:
        return None
    return None if status in ("RUNNING", "PENDING_REDRIVE") else status


def cancel_post(dep: Deployment, post_id: str, *, stop_execution: bool = True) -> PostRecord:
    """Cancel a scheduled post: refused (``RequestInvalid``) once publishing has begun. Race-free: the
    record turns cancelled only while no execution has claimed it for publishing, and an execution claims
    it only while it is not cancelled. Then the waiting execution is stopped (``stop_execution=False``
    leaves it to find the post cancelled when its wait ends).

    A post left in creating or processing by an execution that is no longer running (stopped, or never a
    real one: a task invoked alone) is cancelled too, as long as its publish was never sent."""
    rec = _get_post(dep, post_id)
    done = posts_repo(dep).cancel(post_id, time.time()) if rec.status == "scheduled" else None
    if done is None and rec.status in ("creating", "processing") and rec.publish_attempted_at is None:
        ended = _execution_ended(dep, rec.execution_id)
        if ended is not None:
            done = posts_repo(dep).abandon(post_id, time.time(), execution_id=rec.execution_id,
                                           why=f"its execution {ended.lower()}")
            if done is not None:
                return done
    if done is None:
        raise RequestInvalid([_not_scheduled(_get_post(dep, post_id))])
    if stop_execution:
        _stop(dep, done.execution_id, "cancelled with igpub cancel")
    return done


def reschedule_post(
    dep: Deployment, post_id: str, publish_at: str | datetime, *, stop_execution: bool = True
) -> Submission:
    """Move a scheduled (or cancelled) post to ``publish_at``: a new execution for the same post (never
    twice: the post belongs to one execution at a time, and the old one can no longer claim it). Refused
    (``RequestInvalid``) once publishing has begun, or for a time more than PAST_TOLERANCE_MIN minutes back."""
    rec = _get_post(dep, post_id)
    if rec.status not in ("scheduled", "cancelled"):
        raise RequestInvalid([_not_scheduled(rec)])
    at = parse_time(publish_at)
    if isinstance(at, str):
        raise RequestInvalid([f"publish_at {at!r} is not an ISO 8601 time, e.g. 2026-12-01T09:00:00+01:00"])
    problems = schedule_problems(at, datetime.now(UTC))
    if problems:
        raise RequestInvalid(problems)
    data = {k: v for k, v in json.loads(rec.request).items() if v is not None}
    old_at = data.get("publish_at")
    data["publish_at"] = at.isoformat()
    req = parse_request(data, allow_http=dep.local)
    request = req.model_dump(mode="json", exclude_none=True)
    moves = sum(1 for h in rec.history if h.get("action") == "reschedule")
    name = f"{post_id[:64]}-r{moves + 1}"
    arn = execution_arn(dep, name)
    moved = posts_repo(dep).reschedule(
        post_id, time.time(), old_execution_id=rec.execution_id, new_execution_id=arn,
        request=json.dumps(req.model_dump(mode="json"), sort_keys=True, default=str),
        from_at=old_at, to_at=request["publish_at"],
    )
    if moved is None:
        raise RequestInvalid([_not_scheduled(_get_post(dep, post_id))])
    # the new execution starts before the old one stops: if it cannot start, the post goes back to the old
    # one (still waiting), never left scheduled under an execution that does not exist
    try:
        resp = dep.client("stepfunctions").start_execution(
            stateMachineArn=dep.output("PublishStateMachineArn"), name=name,
            input=json.dumps({"post_id": post_id, "request": request}),
        )
    except Exception as exc:
        back = posts_repo(dep).hand_back(
            post_id, time.time(), from_execution_id=arn, to_execution_id=rec.execution_id, request=rec.request,
            status=rec.status, why=f"{type(exc).__name__}: {exc}",
        )
        where = (f"it stays {rec.status} as before ({old_at or 'no time'})" if back is not None else
                 "and it could not be handed back: run igpub cancel on it, then post it again")
        raise RescheduleFailed(f"post {post_id} was not rescheduled: the new execution did not start "
                               f"({type(exc).__name__}: {exc}); {where}") from exc
    if stop_execution:
        _stop(dep, rec.execution_id, f"rescheduled with igpub reschedule to {request['publish_at']}")
    return Submission(post_id=post_id, execution_arn=resp["executionArn"])


class RescheduleFailed(RuntimeError):
    """The new execution of a reschedule did not start; the message says where the post stands."""
