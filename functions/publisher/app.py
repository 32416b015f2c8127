"""The publish state machine's tasks. The state machine passes ``step`` and the post id; the
result is an Outcome that its Choice states read (see igpub.publishing.outcome)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import get_settings
from igpub.observability import logger, metrics, tracer
from igpub.publishing import first_comment, workflow
from igpub.publishing.outcome import Outcome
from igpub.repositories import aws


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
            return workflow.create(deps, event.post_id, event.execution_id)
        case "check":
            return workflow.check(deps, event.post_id, event.execution_id)
        case "publish":
            return workflow.publish(deps, event.post_id, event.execution_id)
        case "first_comment":
            return first_comment.run(deps, event.post_id, give_up=event.give_up, error=event.error)
        case "fail":
            return workflow.fail(deps, event.post_id, event.outcome, event.error, event.execution_id)


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
