"""Insights: media insights collected on a schedule after publishing, account insights on demand.

https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights
https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights

A published post gets ``insights_due_at`` (publish time + the first delay) and ``insights_pool``
(the partition key of the sparse ``insights-due`` GSI). The engagement function runs on a schedule,
reads the posts that are due, asks Instagram for the metrics valid for the post's kind, stores them on
the post (``insights[<stage>]``) and moves ``insights_due_at`` to the next stage; after the last stage the
pool attribute is removed, so the post leaves the index. Metrics can lag up to 48 h and an empty answer
is stored as such (no data yet), never as zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from igpub.instagram.client import InstagramClient
from igpub.instagram.errors import InstagramError, RateLimitedError
from igpub.observability import logger

DUE_POOL = "due"
INSIGHTS_INDEX = "insights-due"

# Metrics per post kind (the media product type each kind becomes: image/carousel -> FEED, reel -> REELS,
# story -> STORY), taken from the metric x product-type table of the Media Insights page.
_FEED = ("views", "reach", "likes", "comments", "saved", "shares", "total_interactions", "follows",
         "profile_visits")
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "image": _FEED,
    "carousel": _FEED,
    "reel": ("views", "reach", "likes", "comments", "saved", "shares", "total_interactions",
             "ig_reels_avg_watch_time", "ig_reels_video_view_total_time"),
    "story": ("views", "reach", "shares", "total_interactions", "follows", "profile_visits", "navigation",
              "replies"),
}
# Collection stages (label, seconds after publishing). Story metrics exist for 24 h only.
STAGES: dict[str, tuple[tuple[str, int], ...]] = {
    "default": (("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400)),
    "story": (("1h", 3600), ("23h", 23 * 3600)),
}
ACCOUNT_METRICS = ("reach", "views", "accounts_engaged", "total_interactions", "likes", "comments", "saves",
                   "shares", "follows_and_unfollows")


def stages_for(kind: str) -> tuple[tuple[str, int], ...]:
    return STAGES["story"] if kind == "story" else STAGES["default"]


def first_due(kind: str, published_at: float) -> dict[str, Any]:
    """The fields that put a freshly published post on the insights schedule."""
    return {"insights_pool": DUE_POOL, "insights_due_at": int(published_at) + stages_for(kind)[0][1],
            "insights_stage": 0}


@dataclass(frozen=True)
class Collected:
    stage: str
    values: dict[str, int | float]
    error: str | None = None

    def as_item(self, now: float) -> dict[str, Any]:
        item: dict[str, Any] = {"collected_at": int(now), "metrics": self.values}
        if self.error:
            item["error"] = self.error
        return item


def collect_media(client: InstagramClient, *, media_id: str, kind: str, token: str, account_id: str,
                  stage: str) -> Collected:
    """One collection; Instagram errors other than throttling become a recorded reason, not a failure."""
    metrics = KIND_METRICS.get(kind, _FEED)
    try:
        items = client.get_media_insights(media_id, token, metrics, account_id=account_id)
    except RateLimitedError:
        raise
    except InstagramError as exc:
        logger.info("media insights not available", extra={"code": exc.code, "subcode": exc.subcode})
        return Collected(stage, {}, f"{exc.code}/{exc.subcode}: {exc.message}")
    values = {m.name: m.value for m in items if m.value is not None}
    return Collected(stage, values, None if values else "no data yet")


@dataclass
class DueReport:
    collected: int = 0
    rescheduled: int = 0
    finished: int = 0
    failed: int = 0


def next_schedule(kind: str, published_at: int, stage: int) -> dict[str, Any] | None:
    """The fields for the stage after ``stage``, or None when it was the last one."""
    stages = stages_for(kind)
    if stage + 1 >= len(stages):
        return None
    return {"insights_due_at": int(published_at) + stages[stage + 1][1], "insights_stage": stage + 1}


def collect_due(
    posts: Any,
    client: InstagramClient,
    token_for: Callable[[str], str | None],
    *,
    now: float,
    limit: int = 50,
) -> DueReport:
    """Collect the insights of every post whose stage is due (the scheduled run)."""
    report = DueReport()
    for rec in posts.due_for_insights(now, limit):
        stage_index = int(rec.insights_stage or 0)
        stages = stages_for(rec.kind)
        label = stages[min(stage_index, len(stages) - 1)][0]
        token = token_for(rec.account_id)
        if token is None or not rec.media_id:
            collected = Collected(label, {}, "account not connected" if token is None else "no media id")
            report.failed += 1
        else:
            try:
                collected = collect_media(client, media_id=rec.media_id, kind=rec.kind, token=token,
                                          account_id=rec.account_id, stage=label)
            except RateLimitedError as exc:  # try again at the next run, after the account's pause
                logger.info("insights postponed: rate limited", extra={"post_id": rec.post_id,
                                                                       "retry_after_s": exc.retry_after_s})
                continue
            report.collected += 1
        insights = dict(rec.insights or {})
        insights[label] = collected.as_item(now)
        following = next_schedule(rec.kind, int(rec.published_at or now), stage_index)
        if following is None:
            posts.update(rec.post_id, now, remove=("insights_pool", "insights_due_at"), insights=insights)
            report.finished += 1
        else:
            posts.update(rec.post_id, now, insights=insights, **following)
            report.rescheduled += 1
    return report
