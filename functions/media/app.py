"""The PrepareMedia task of the publish state machine (igpub.media.prepare): only when a post's media need
work. The result is an Outcome its Choice state reads (igpub.publishing.outcome)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub.config import get_settings
from igpub.media.prepare import MediaDeps, prepare_post
from igpub.observability import logger, metrics, tracer
from igpub.publishing.outcome import Outcome
from igpub.repositories import aws


class MediaEvent(BaseModel):
    step: Literal["media"]
    post_id: str
    execution_id: str
    then: dict[str, Any]


@cache
def _deps() -> MediaDeps:
    import time

    from igpub.repositories.media import MediaStore
    from igpub.repositories.posts import PostRepository

    settings = get_settings()
    return MediaDeps(
        settings=settings,
        posts=PostRepository(settings.posts_table),
        media=MediaStore(settings.media_bucket),
        clock=time.time,
        workdir=Path("/tmp") if Path("/tmp").is_dir() else None,  # noqa: S108 (Lambda's ephemeral storage)
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@aws.logs_aws_calls
@event_parser(model=MediaEvent)
def lambda_handler(event: MediaEvent, context: LambdaContext) -> Outcome:
    logger.append_keys(post_id=event.post_id, step=event.step)
    try:
        outcome = prepare_post(_deps(), event.post_id, event.then, execution_id=event.execution_id)
    except Exception as exc:
        what = aws.transient_aws_error(exc)
        if what is None:
            raise
        raise aws.AwsTransientError(f"AWS kept failing ({what})") from exc
    logger.info("step done", extra={"status": outcome["status"], "aws_requests": aws.take_request_counts()})
    return outcome
