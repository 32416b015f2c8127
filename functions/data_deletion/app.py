"""Deletes what igpub holds about one person (igpub/connect/deletion.py). Invoked asynchronously by the data
deletion callback with ``{"code": "<confirmation code>"}``; by igpub disconnect with ``{"action": "disconnect",
"account_id": ..., "delete_data": true|false}`` (the operator's credentials only invoke this function: they
cannot read tokens or delete data themselves)."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import get_settings
from igpub.connect import deauthorize, deletion
from igpub.observability import logger, metrics, tracer
from igpub.repositories import aws, runtime


@cache
def _wired() -> wiring.MetaCallbacks:
    return wiring.meta_callbacks(get_settings())


def _deps() -> deletion.Deps:
    deps = _wired()
    return deletion.Deps(accounts=deps.accounts, data=deps.data, deletions=deps.deletions,
                         stop_execution=runtime.stop_execution, execution_running=runtime.execution_running)


def _disconnect(account_id: str, delete_data: bool) -> dict[str, Any]:
    wired = _wired()
    results: dict[str, Any] = {}
    deps = deauthorize.Deps(
        accounts=wired.accounts, data=wired.data, deletions=wired.deletions, events=wired.events,
        stop_execution=runtime.stop_execution,
        start_deletion=lambda code: results.update(deletion.run(_deps(), code)),
        subject_key=lambda: aws.secret_value(wired.settings.app_secret_name, max_age=300),
    )
    found = wired.accounts.find(account_id)
    if not found:
        return {"status": "not_connected", "account_id": account_id}
    now = time.time()
    done = [deauthorize.deauthorize_account(deps, a, by="operator", now=now) for a in found]
    out: dict[str, Any] = {"status": "ok", "accounts": [vars(d) for d in done]}
    if delete_data:
        request = deauthorize.request_deletion(deps, found[0].account_id, source="operator", now=now)
        final = wired.deletions.get(request.code) or request
        out["deletion"] = {"code": final.code, "status": final.status, "summary": final.summary}
        out["deletion_result"] = results
    return out


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@aws.logs_aws_calls
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "disconnect":
        return _disconnect(str(event.get("account_id") or ""), bool(event.get("delete_data")))
    result = deletion.run(_deps(), str(event.get("code") or ""))
    if result.get("status") == "done":
        metrics.add_metric(name="DataDeletionsDone", unit="Count", value=1)
    return result
