"""Media and account insights.

https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights
https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights

Media metrics follow the metric x media-product-type table of the Media Insights page; a metric a
type does not support fails the whole call with code 100 "... does not support the X metric for this
media product type"; an unknown name with "metric[i] must be one of the following values: ...".
Values are deterministic per media and metric and grow with the media's age on the fake's clock
(``insights_ramp_seconds``), so a later collection sees larger numbers; the control API can set them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fakeig.graph_common import Auth
from fakeig.http import GraphError, Request, Response, missing_param
from fakeig.state import IGUser, Media, digits_from

if TYPE_CHECKING:
    from fakeig.context import FakeState

INSIGHTS_SCOPES = ("instagram_business_basic", "instagram_business_manage_insights")

# Metric -> product types (FEED, REELS, STORY) it is documented for with Instagram Login.
MEDIA_METRICS: dict[str, tuple[str, ...]] = {
    "impressions": ("FEED", "STORY"),
    "reach": ("FEED", "REELS", "STORY"),
    "replies": ("STORY",),
    "saved": ("FEED", "REELS"),
    "likes": ("FEED", "REELS"),
    "comments": ("FEED", "REELS"),
    "shares": ("FEED", "REELS", "STORY"),
    "total_interactions": ("FEED", "REELS", "STORY"),
    "follows": ("FEED", "STORY"),
    "profile_visits": ("FEED", "STORY"),
    "profile_activity": ("FEED", "STORY"),
    "navigation": ("STORY",),
    "ig_reels_video_view_total_time": ("REELS",),
    "ig_reels_avg_watch_time": ("REELS",),
    "views": ("FEED", "REELS", "STORY"),
    "reels_skip_rate": ("REELS",),
    "reposts": ("FEED", "REELS", "STORY"),
    "facebook_views": ("FEED", "REELS", "STORY"),
    "crossposted_views": ("REELS",),
    # Facebook Login only: refused on graph.instagram.com.
    "total_views": (),
    "total_likes": (),
    "total_comments": (),
    "link_clicks": (),
}
BREAKDOWNS = {"profile_activity": "action_type", "navigation": "story_navigation_action_type"}
TITLES = {"reach": "Accounts reached", "views": "Views", "likes": "Likes", "comments": "Comments",
          "saved": "Saved", "shares": "Shares", "total_interactions": "Total interactions"}
# Media created from this day on has no `impressions` (Unix time of 2024-07-02T00:00:00Z).
IMPRESSIONS_CUTOFF = 1719878400.0
SCALE = {"reach": 5000, "views": 9000, "likes": 600, "comments": 60, "saved": 90, "shares": 70,
         "follows": 12, "profile_visits": 150, "profile_activity": 40, "navigation": 300, "replies": 8,
         "reposts": 15, "ig_reels_video_view_total_time": 9_000_000, "ig_reels_avg_watch_time": 6500,
         "reels_skip_rate": 40, "impressions": 8000, "facebook_views": 500, "crossposted_views": 9500}


def _require_scope(app: FakeState, auth: Auth) -> None:
    if app.config.require_insights_scope and not all(s in auth.token.scopes for s in INSIGHTS_SCOPES):
        raise GraphError.from_spec(app.config.missing_scope_error)


def _unknown_error() -> GraphError:
    return GraphError(1, "An unknown error has occurred.", is_transient=False)


def _metrics(req: Request) -> list[str]:
    raw = req.param("metric")
    if raw in (None, ""):
        raise missing_param("metric")
    return [m.strip() for m in str(raw).split(",") if m.strip()]


def metric_value(app: FakeState, m: Media, metric: str) -> int:
    if metric in m.insights:
        return int(m.insights[metric])
    if metric == "total_interactions":
        return sum(metric_value(app, m, x) for x in ("likes", "comments", "saved", "shares"))
    if metric == "comments":
        own = sum(1 for c in app.store.comments.values() if c.media_id == m.id and not c.deleted)
        return own + _derived(app, m, metric)
    return _derived(app, m, metric)


def _derived(app: FakeState, m: Media, metric: str) -> int:
    full = int(digits_from(f"{m.id}:{metric}", 6)) % max(1, SCALE.get(metric, 100)) + 1
    ramp = max(1, app.config.insights_ramp_seconds)
    age = max(0.0, app.now() - m.timestamp)
    return int(full * min(1.0, age / ramp))


def media_insights(app: FakeState, req: Request, auth: Auth, m: Media) -> Response:
    _require_scope(app, auth)
    if req.method != "GET":
        raise GraphError(100, f"(#100) Unsupported {req.method.lower()} request on insights")
    metrics = _metrics(req)
    if m.is_carousel_child:
        raise GraphError.from_spec(app.config.carousel_child_insights_error)
    if m.before_conversion:
        raise GraphError(
            100, "Invalid parameter", 2108006,
            user_title="Media posted before business account conversion",
            user_msg="The media was posted before the most recent time that the user's account was converted "
            "to a business account from a personal account.",
        )
    valid = list(MEDIA_METRICS)
    for i, name in enumerate(metrics):
        if name not in MEDIA_METRICS:
            raise GraphError(100, f"(#100) metric[{i}] must be one of the following values: {', '.join(valid)}")
    product = m.media_product_type
    unsupported = [x for x in metrics if product not in MEDIA_METRICS[x]]
    if unsupported:
        raise GraphError(100, f"(#100) The Media Insights API does not support the {', '.join(unsupported)} "
                         "metric for this media product type.")
    if "impressions" in metrics and m.timestamp >= IMPRESSIONS_CUTOFF:
        raise GraphError(100, "(#100) Starting from version v22.0 and above, the impressions metric is no "
                         "longer supported for the queried media")
    if any(x in ("facebook_views", "crossposted_views") for x in metrics) and not m.shared_to_facebook:
        raise GraphError(100, "(#100) The media was not shared to Facebook")
    breakdown = req.param("breakdown")
    if breakdown not in (None, "") and any(BREAKDOWNS.get(x) != breakdown for x in metrics):
        raise _unknown_error()
    age = app.now() - m.timestamp
    if age < app.config.insights_lag_seconds:
        return Response.json({"data": []})
    if product == "STORY":
        if age > 86_400:
            return Response.json({"data": []})
        if any(metric_value(app, m, x) < app.config.story_min_viewers for x in metrics):
            raise GraphError(10, "(#10) Not enough viewers for the media to show insights")
    data = []
    for name in metrics:
        item: dict[str, Any] = {
            "name": name,
            "period": "lifetime",
            "values": [{"value": metric_value(app, m, name)}],
            "title": TITLES.get(name, name.replace("_", " ").capitalize()),
            "description": f"Fake {name} of the media",
            "id": f"{m.id}/insights/{name}/lifetime",
        }
        data.append(item)
    return Response.json({"data": data})


# ----------------------------------------------------------------------------------------------
# Account insights


ACCOUNT_METRICS: dict[str, dict[str, Any]] = {
    "accounts_engaged": {"types": ("total_value",), "breakdowns": ()},
    "comments": {"types": ("total_value",), "breakdowns": ("media_product_type",)},
    "likes": {"types": ("total_value",), "breakdowns": ("media_product_type",)},
    "saves": {"types": ("total_value",), "breakdowns": ("media_product_type",)},
    "shares": {"types": ("total_value",), "breakdowns": ("media_product_type",)},
    "total_interactions": {"types": ("total_value",), "breakdowns": ("media_product_type",)},
    "follows_and_unfollows": {"types": ("total_value",), "breakdowns": ("follow_type",)},
    "profile_links_taps": {"types": ("total_value",), "breakdowns": ("contact_button_type",)},
    "reach": {"types": ("total_value", "time_series"), "breakdowns": ("media_product_type", "follow_type")},
    "replies": {"types": ("total_value",), "breakdowns": ()},
    "reposts": {"types": ("total_value",), "breakdowns": ()},
    "views": {"types": ("total_value",), "breakdowns": ("follower_type", "follow_type", "media_product_type")},
    "follower_count": {"types": ("time_series",), "breakdowns": ()},
}


def account_insights(app: FakeState, req: Request, auth: Auth, user: IGUser) -> Response:
    _require_scope(app, auth)
    metrics = _metrics(req)
    for i, name in enumerate(metrics):
        if name not in ACCOUNT_METRICS:
            raise GraphError(100, f"(#100) metric[{i}] must be one of the following values: "
                             f"{', '.join(ACCOUNT_METRICS)}")
    metric_type = str(req.param("metric_type") or "time_series")
    now = app.now()
    until = float(req.param("until") or now)
    since = float(req.param("since") or until - 86_400)
    if until - since > 30 * 86_400:
        raise GraphError(100, "(#100) There cannot be more than 30 days (2592000 s) between since and until")
    wrong = [x for x in metrics if metric_type not in ACCOUNT_METRICS[x]["types"]]
    if wrong:
        raise GraphError(100, f"(#100) The following metrics ({', '.join(wrong)}) should be specified with "
                         f"parameter metric_type={'total_value' if metric_type == 'time_series' else 'time_series'}")
    breakdown = req.param("breakdown")
    if breakdown not in (None, "") and any(breakdown not in ACCOUNT_METRICS[x]["breakdowns"] for x in metrics):
        raise _unknown_error()
    mine = [m for m in app.store.media.values() if m.user_id == user.user_id and not m.is_carousel_child
            and since <= m.timestamp <= until]
    data = []
    for name in metrics:
        if name in ("follower_count",) and user.followers < 100:
            continue
        item: dict[str, Any] = {"name": name, "period": "day", "title": name.replace("_", " ").capitalize(),
                                "description": f"Fake {name} of the account",
                                "id": f"{user.user_id}/insights/{name}/day"}
        if metric_type == "total_value":
            total = _account_total(app, user, mine, name)
            item["total_value"] = {"value": total}
        else:
            days = max(1, int((until - since) // 86_400))
            item["values"] = [
                {"value": int(digits_from(f"{user.user_id}:{name}:{d}", 4)) % 200,
                 "end_time": time.strftime("%Y-%m-%dT07:00:00+0000", time.gmtime(since + (d + 1) * 86_400))}
                for d in range(days)
            ]
        data.append(item)
    return Response.json({"data": data})


def _account_total(app: FakeState, user: IGUser, mine: list[Media], name: str) -> int:
    media_metric = {"saves": "saved", "accounts_engaged": "reach"}.get(name, name)
    if media_metric in MEDIA_METRICS:
        return sum(metric_value(app, m, media_metric) for m in mine
                   if m.media_product_type in MEDIA_METRICS[media_metric])
    return int(digits_from(f"{user.user_id}:{name}", 4)) % 100
