"""The publish state machine's tasks. The state machine passes ``step`` and the post id; the
result is an Outcome that its Choice states read (see igpub.publishing.outcome)."""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import get_settings
from igpub.observability import logger, metrics, tracer
from igpub.publishing import first_comment, workflow
from igpub.publishing.outcome import Outcome, Status
from igpub.repositories import aws
from igpub.repositories.events import EventPublisher


class TaskEvent(BaseModel):
    step: Literal["prepare", "create", "check", "publish", "first_comment", "fail"]
    post_id: str
    execution_id: str
    request: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    give_up: bool = False  # first_comment after an unexpected error


@cache
def _wired() -> wiring.Publisher:
    return wiring.publisher(get_settings())


def _run(deps: workflow.Deps, event: TaskEvent) -> Outcome:
    match event.step:
        case "prepare":
            return workflow.prepare(deps, event.post_id, event.request or {}, event.execution_id)
        case "create":
            return _then_publish(deps, event, workflow.create(deps, event.post_id, event.execution_id))
        case "check":
            return _then_publish(deps, event, _poll(deps, event))
        case "publish":
            return workflow.publish(deps, event.post_id, event.execution_id)
        case "first_comment":
            return first_comment.run(deps, event.post_id, give_up=event.give_up, error=event.error)
        case "fail":
            return workflow.fail(deps, event.post_id, event.outcome, event.error, event.execution_id)


def _poll(deps: workflow.Deps, event: TaskEvent) -> Outcome:
    """Bounded polling inside the task: read the status again every poll interval for up to
    ``status_poll_in_task_s`` (each read counts against MaxStatusChecks as before), then hand back to the
    Wait state. A sleeping invocation at 192 MB costs less than a Wait loop's 3 state transitions."""
    budget = get_settings().status_poll_in_task_s
    start = time.monotonic()
    out = workflow.check(deps, event.post_id, event.execution_id)
    while out["status"] == Status.IN_PROGRESS and time.monotonic() - start + out.get("wait_s", 0) <= budget:
        time.sleep(out.get("wait_s", 0))
        out = workflow.check(deps, event.post_id, event.execution_id)
    return out


def _then_publish(deps: workflow.Deps, event: TaskEvent, out: Outcome) -> Outcome:
    """Every container FINISHED: publish in this invocation (no Publish state, no second invocation)."""
    if out["status"] == Status.FINISHED:
        logger.append_keys(step=f"{event.step}+publish")
        published = workflow.publish(deps, event.post_id, event.execution_id)
        if published["status"] == Status.RATE_LIMITED:  # wait, then the Publish state (not another check)
            published["status"] = Status.PUBLISH_RATE_LIMITED
        return published
    return out


@cache
def _events() -> EventPublisher:
    return EventPublisher(get_settings().event_bus_name)


def _announce(event: TaskEvent, outcome: Outcome) -> None:
    """igpub.PostPublished / igpub.PostFailed from the task that knows the outcome. Best effort: a failure
    here is logged and never changes the outcome (EventBridge delivers at least once; so may this)."""
    status = outcome["status"]
    detail: dict[str, Any] = {"post_id": event.post_id, "account_id": outcome.get("account_id"),
                              "kind": outcome.get("kind"), "execution_id": event.execution_id}
    if event.step == "fail" and status == Status.FAILED:
        detail_type = "igpub.PostFailed"
        detail |= {"reason": outcome.get("reason"), "code": outcome.get("code"),
                   "may_be_live": outcome.get("may_be_live", False)}
    elif event.step in ("create", "check", "publish") and status in (Status.PUBLISHED, Status.PUBLISHED_COMMENT):
        detail_type = "igpub.PostPublished"
        detail |= {"media_id": outcome.get("media_id"), "permalink": outcome.get("permalink")}
    else:
        return
    try:
        _events().post_outcome(detail_type, detail)
    except Exception as exc:  # noqa: BLE001 - best effort: the post's outcome stands whatever happens here
        logger.warning("event not sent", extra={"detail_type": detail_type, "error": str(exc)[:300]})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=TaskEvent)
def lambda_handler(event: TaskEvent, context: LambdaContext) -> Outcome:
    wired = _wired()
    deps = wired.deps
    aws.take_request_counts()  # count this invocation's AWS requests only
    wired.guard.register_context(context)
    logger.append_keys(post_id=event.post_id, step=event.step)
    try:
        outcome = _run(deps, event)
    except Exception as exc:
        # Every task is safe to run again: a transient AWS error (after boto3's own retries) becomes
        # AwsTransientError, which the state machine retries with backoff (bounded).
        what = aws.transient_aws_error(exc)
        if what is None:
            raise
        logger.warning("transient AWS error", extra={"error": what, "aws_requests": aws.take_request_counts()})
        raise aws.AwsTransientError(f"AWS kept failing ({what})") from exc
    _announce(event, outcome)
    # aws_requests: {"dynamodb.GetItem@<table>": n, "kms.Decrypt": n, ...} sent by this invocation (make bench reads it)
    logger.info(
        "step done",
        extra={
            "status": outcome["status"],
            "wait_s": outcome.get("wait_s"),
            "aws_requests": aws.take_request_counts(),
        },
    )
    return outcome
