"""Deletes what igpub holds about one person (igpub/connect/deletion.py). Invoked asynchronously by the data
deletion callback with ``{"code": "<confirmation code>"}``, or synchronously by igpub disconnect --delete-data."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from igpub import wiring
from igpub.config import get_settings
from igpub.connect import deletion
from igpub.observability import logger, metrics, tracer
from igpub.repositories import runtime


@cache
def _deps() -> deletion.Deps:
    deps = wiring.meta_callbacks(get_settings())
    return deletion.Deps(accounts=deps.accounts, data=deps.data, deletions=deps.deletions,
                         stop_execution=runtime.stop_execution)


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    code = str(event.get("code") or "")
    result = deletion.run(_deps(), code)
    if result.get("status") == "done":
        metrics.add_metric(name="DataDeletionsDone", unit="Count", value=1)
    return result
