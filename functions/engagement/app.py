"""Engagement: the scheduled insights collection, and the on-demand comments / insights actions.

    (the EventBridge Scheduled Event)                      collect the media insights that are due
    {"action": "post_insights", "post_id": "...", "refresh": true}
    {"action": "account_insights", "account_id": "...", "metrics": ["reach"], "since": 0, "until": 0}
    {"action": "comments", "post_id": "..."}                (or "account_id" + "media_id")
    {"action": "reply", "account_id": "...", "comment_id": "...", "message": "..."}
    {"action": "hide" | "unhide" | "delete_comment", "account_id": "...", "comment_id": "..."}
    {"action": "comment_enabled", "post_id": "...", "enabled": false}

Answers ``{"status": "ok", ...}`` or ``{"status": "error", "error": <kind>, "message": ...}``. Never returns
or logs a token.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from igpub import wiring
from igpub.config import get_settings
from igpub.engage import actions as engagement
from igpub.instagram.errors import InstagramError
from igpub.observability import logger, metrics, tracer


@cache
def _deps() -> engagement.Deps:
    return wiring.engagement(get_settings())


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": kind, "message": message}


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Scheduled Event":
        event = {"action": "collect_due"}
    try:
        parsed = engagement.EngagementEvent.model_validate(event)
    except ValidationError as exc:
        return _error("invalid", "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    logger.append_keys(action=parsed.action, account_id=parsed.account_id, post_id=parsed.post_id)
    try:
        result = engagement.run(_deps(), parsed, now=time.time())
    except engagement.Problem as exc:
        return _error(exc.kind, exc.message)
    except InstagramError as exc:
        logger.warning("instagram refused", extra={"code": exc.code, "subcode": exc.subcode})
        # the caller words the advice for its operation (a comment id, a permission): code, subcode and class
        # let it; "advice" is the error table's general sentence
        return {**_error("instagram", f"{exc.message} ({exc.code}/{exc.subcode})"), "code": exc.code,
                "subcode": exc.subcode, "error_class": type(exc).__name__, "advice": exc.advice}
    return result
