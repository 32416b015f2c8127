"""Insights: a media's (lifetime) and the account's.

https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights
https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights
"""

from __future__ import annotations

from collections.abc import Sequence

from igpub.instagram.core import GraphCore
from igpub.instagram.models import InsightMetric


class InsightsApi(GraphCore):
    """Media and account insights."""

    def get_media_insights(
        self, media_id: str, token: str, metrics: Sequence[str], *, account_id: str
    ) -> list[InsightMetric]:
        """``GET /{media_id}/insights?metric=...`` (always lifetime). Empty when no data yet."""
        body = self._graph("GET", f"{media_id}/insights", token, params={"metric": ",".join(metrics)},
                           account_id=account_id)
        return self._metrics(body, "media insights")

    def get_account_insights(
        self,
        ig_user_id: str,
        token: str,
        metrics: Sequence[str],
        *,
        period: str = "day",
        metric_type: str = "total_value",
        since: int | None = None,
        until: int | None = None,
        breakdown: str | None = None,
    ) -> list[InsightMetric]:
        """``GET /{ig_user_id}/insights`` (no since/until: the last 24 h; at most 30 days between them)."""
        params = {"metric": ",".join(metrics), "period": period, "metric_type": metric_type}
        if since is not None:
            params["since"] = str(since)
        if until is not None:
            params["until"] = str(until)
        if breakdown:
            params["breakdown"] = breakdown
        body = self._graph("GET", f"{ig_user_id}/insights", token, params=params, account_id=ig_user_id)
        return self._metrics(body, "account insights")
