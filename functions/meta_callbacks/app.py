"""Meta's callbacks for going Live: POST /instagram/deauthorize and POST /facebook/deauthorize (the person
removed the app), POST /instagram/data-deletion and POST /facebook/data-deletion (the person asks for their
data to be deleted), and GET /instagram/data-deletion/status (the page the deletion answer points to).
See igpub/connect/deauthorize.py and igpub/connect/signed_request.py."""

from __future__ import annotations

import base64
import json
import time
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import Settings, get_settings
from igpub.connect import deauthorize, signed_request, status_page
from igpub.observability import logger, metrics, tracer
from igpub.repositories import aws, runtime

app = APIGatewayRestResolver()


@cache
def _deps() -> wiring.MetaCallbacks:
    return wiring.meta_callbacks(get_settings())


def _secret(name: str) -> str:
    if not name:
        return ""
    try:
        return aws.secret_value(name, max_age=300)
    except parameters.exceptions.GetParameterError:  # a secret never set (Facebook Login unused)
        return ""


def _secrets(settings: Settings) -> list[str]:
    """Either app secret may sign (Meta does not say which one signs for Instagram Login apps)."""
    return [s for s in (_secret(settings.app_secret_name), _secret(settings.facebook_app_secret_name)) if s]


def _status_url(settings: Settings) -> str:
    if settings.data_deletion_status_url:
        return settings.data_deletion_status_url
    return aws.parameter_value(settings.data_deletion_status_url_parameter, max_age=3600)


def _signed_request() -> str | None:
    event = app.current_event
    body = event.get("body") or ""
    raw = base64.b64decode(body).decode("utf-8", "replace") if event.get("isBase64Encoded") else str(body)
    values = parse_qs(raw, keep_blank_values=True).get("signed_request") or []
    return values[0] if len(values) == 1 else None


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body),
                    headers={"Cache-Control": "no-store"})


def _refused(route: str, exc: signed_request.SignedRequestRefused) -> Response[str]:
    # one answer for every refusal: it says nothing about why, or whether an account exists
    metrics.add_metric(name="MetaCallbackRefused", unit="Count", value=1)
    logger.warning("signed_request refused", extra={"route": route, "reason": exc.reason})
    return _json(400, {"error": "invalid signed_request"})


def _callback_deps(deps: wiring.MetaCallbacks) -> deauthorize.Deps:
    settings = deps.settings
    return deauthorize.Deps(
        accounts=deps.accounts, data=deps.data, deletions=deps.deletions, events=deps.events,
        stop_execution=runtime.stop_execution,
        start_deletion=lambda code: runtime.invoke_async(settings.data_deletion_function, {"code": code}),
        subject_key=lambda: _secret(settings.app_secret_name),
    )


def _deauthorize(login: str) -> Response[str]:
    deps = _deps()
    try:
        req = signed_request.verify(_signed_request(), _secrets(deps.settings))
    except signed_request.SignedRequestRefused as exc:
        return _refused(f"{login}/deauthorize", exc)
    done = deauthorize.deauthorize(_callback_deps(deps), req.user_id, by=login, now=time.time())
    metrics.add_metric(name="AccountsDeauthorized", unit="Count", value=sum(not d.already for d in done))
    return _json(200, {"ok": True})  # the same answer whether or not the person was known


def _data_deletion(source: str) -> Response[str]:
    deps = _deps()
    try:
        req = signed_request.verify(_signed_request(), _secrets(deps.settings))
    except signed_request.SignedRequestRefused as exc:
        return _refused(f"{source}/data-deletion", exc)
    request = deauthorize.request_deletion(_callback_deps(deps), req.user_id, source=source, now=time.time())
    metrics.add_metric(name="DataDeletionRequested", unit="Count", value=1)
    url = f"{_status_url(deps.settings)}?code={request.code}"
    return _json(200, {"url": url, "confirmation_code": request.code})


@app.post("/instagram/deauthorize")
def instagram_deauthorize() -> Response[str]:
    return _deauthorize("instagram")


@app.post("/facebook/deauthorize")
def facebook_deauthorize() -> Response[str]:
    return _deauthorize("facebook")


@app.post("/instagram/data-deletion")
def instagram_data_deletion() -> Response[str]:
    return _data_deletion("instagram")


@app.post("/facebook/data-deletion")
def facebook_data_deletion() -> Response[str]:
    return _data_deletion("facebook")


@app.get("/instagram/data-deletion/status")
def deletion_status() -> Response[str]:
    code = (app.current_event.get_query_string_value("code") or "").strip().upper()
    request = _deps().deletions.get(code, now=time.time())
    status, html = status_page.render(request, code)
    return Response(status_code=status, content_type=content_types.TEXT_HTML, body=html,
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@aws.logs_aws_calls
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
