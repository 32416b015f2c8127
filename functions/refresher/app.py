"""The token refresher: runs on the EventBridge schedule, or by hand.

Events:
* the EventBridge Scheduled Event (``events/refresh_schedule.json``): refresh every due token;
* ``{}``: the same, invoked by hand (``igpub refresh``);
* ``{"account_id": "..."}``: refresh that account now, due or not, still honouring the 24 h minimum age
  unless ``"ignore_min_age": true`` (``igpub refresh ACCOUNT [--ignore-min-age]``).

Returns the report (counters, and the accounts that were not refreshed, with why).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict

from igpub import wiring
from igpub.accounts import refresh
from igpub.config import get_settings
from igpub.observability import logger, metrics, tracer
from igpub.repositories import aws


class RefreshEvent(BaseModel):
    """A scheduled event (its fields are ignored) or a manual one."""

    model_config = ConfigDict(extra="ignore")

    account_id: str | None = None
    ignore_min_age: bool = False
    source: str | None = None  # "aws.events" for the schedule


@cache
def _deps() -> refresh.RefreshDeps:
    return wiring.refresher(get_settings())


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=RefreshEvent)
def lambda_handler(event: RefreshEvent, context: LambdaContext) -> dict[str, Any]:
    deps = _deps()
    aws.take_request_counts()
    if event.account_id:
        logger.append_keys(account_id=event.account_id)
        report = refresh.refresh_account(deps, event.account_id, ignore_min_age=event.ignore_min_age)
    else:
        report = refresh.refresh_due(deps, remaining_ms=context.get_remaining_time_in_millis)
    metrics.add_metric(name="TokenRefreshFailed", unit=MetricUnit.Count, value=report.refresh_failures)
    summary = {k: v for k, v in report.as_dict().items() if k != "details"}
    logger.info(
        "refresh run done",
        extra={"trigger": event.source or "manual", **summary, "aws_requests": aws.take_request_counts()},
    )
    return report.as_dict()
