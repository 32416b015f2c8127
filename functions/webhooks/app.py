"""Instagram webhooks: GET /webhooks/instagram (Meta's verification handshake) and POST /webhooks/instagram
(signed notifications: checked, de-duplicated, stored, turned into igpub.CommentReceived /
igpub.MentionReceived events). See igpub/engage/webhooks.py."""

from __future__ import annotations

import base64
import time
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import get_settings
from igpub.engage import webhooks
from igpub.observability import logger, metrics, tracer

app = APIGatewayRestResolver()


@cache
def _deps() -> wiring.Webhooks:
    return wiring.webhooks(get_settings())


def _text(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.TEXT_PLAIN, body=body,
                    headers={"Cache-Control": "no-store"})


@app.get("/webhooks/instagram")
def verify() -> Response[str]:
    settings = _deps().settings
    params = {k: v for k, v in (app.current_event.query_string_parameters or {}).items() if v is not None}
    token = str(parameters.get_secret(settings.webhook_verify_token_name, max_age=300))
    status, body = webhooks.handshake(params, token)
    if status != 200:
        logger.warning("webhook verification refused")
    return _text(status, body)


def _raw_body() -> bytes:
    event = app.current_event
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


@app.post("/webhooks/instagram")
def notify() -> Response[str]:
    deps = _deps()
    settings, store, accounts, events = deps.settings, deps.store, deps.accounts, deps.events
    raw = _raw_body()  # the signature covers these exact bytes: check before parsing anything
    secret = str(parameters.get_secret(settings.app_secret_name, max_age=300))
    if not webhooks.signature_valid(raw, app.current_event.headers.get("X-Hub-Signature-256"), [secret]):
        logger.warning("webhook refused: missing or wrong signature")
        return _text(403, "bad signature")
    try:
        changes = webhooks.parse(raw)
    except ValueError:
        logger.warning("webhook body is not an Instagram notification")
        return _text(400, "not an Instagram notification")

    def username_of(account_id: str) -> str | None:
        account = accounts.get(account_id)
        return account.username if account else None

    outcome = webhooks.process(changes, store=store, events=events, username_of=username_of, now=time.time())
    logger.info("webhook changes", extra={"stored": outcome.stored, "duplicates": outcome.duplicates})
    return _text(200, "ok")


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
