"""Hashtag discovery and the search budget, invoked by the CLI (or any SDK):

    {"action": "discover", "account_id": "...", "seeds": ["coffee", "latteart"], "pool": "default"}
    {"action": "budget", "account_id": "..."}

Answers ``{"status": "ok", ...}`` or ``{"status": "error", "error": <kind>, "message": <what to do>}``.
Never returns or logs a token.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from igpub import hashtags, wiring
from igpub.config import get_settings
from igpub.observability import logger, metrics, tracer
from igpub.repositories.hashtags import FacebookConnection


class HashtagsEvent(BaseModel):
    action: Literal["discover", "budget"]
    account_id: str = Field(min_length=1, max_length=64)
    seeds: list[str] = Field(default_factory=list, max_length=hashtags.MAX_SEEDS)
    pool: str = hashtags.DEFAULT_POOL


@cache
def _deps() -> wiring.Hashtags:
    return wiring.hashtags(get_settings())


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": kind, "message": message}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=HashtagsEvent)
def lambda_handler(event: HashtagsEvent, context: LambdaContext) -> dict[str, Any]:
    deps = _deps()
    logger.append_keys(account_id=event.account_id, action=event.action)
    now = int(time.time())
    if event.action == "budget":
        return {"status": "ok", "budget": deps.budget.view(event.account_id, now=now).as_dict()}

    def token(conn: FacebookConnection) -> str:
        return deps.cipher.decrypt(conn.token_ciphertext, account_id=conn.account_id, purpose="facebook")

    try:
        found = hashtags.discover(
            event.account_id,
            event.seeds,
            pool=event.pool,
            store=deps.repo,
            budget=deps.budget,
            client=deps.client,
            token=token,
            now=now,
        )
    except hashtags.InvalidInput as exc:
        return _error("invalid", str(exc))
    except hashtags.NotConnected as exc:
        return _error("not_connected", str(exc))
    except hashtags.BudgetContention as exc:
        return _error("busy", str(exc))
    return found.as_dict()
