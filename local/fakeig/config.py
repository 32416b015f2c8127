"""Configuration of the fake Instagram server.

Every knob that the reference marks UNCONFIRMED is a field here, so tests can flip it. The config is
set at start (``create_app(FakeConfig(...))``) and patched at run time with ``POST /_fake/config``
(a partial JSON object; nested objects are merged).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorSpec(BaseModel):
    """A Graph error the fake returns in a situation whose real error is unknown."""

    model_config = ConfigDict(extra="forbid")

    code: int
    subcode: int | None = None
    message: str
    type: str = "OAuthException"
    is_transient: bool = False
    http_status: int = 400


def _default_processing() -> dict[str, float]:
    return {
        "IMAGE": 0,  # single image and carousel image items
        "VIDEO": 5,  # carousel video items
        "REELS": 30,
        "STORIES_IMAGE": 0,
        "STORIES_VIDEO": 10,
        "CAROUSEL": 0,  # the parent itself; it is FINISHED only when every child is
    }


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- apps -------------------------------------------------------------------------------
    ig_app_id: str = "igpub-local-app"
    ig_app_secret: str = "local-app-secret"  # noqa: S105 (fake credentials)
    fb_app_id: str = "igpub-local-fb-app"
    fb_app_secret: str = "local-fb-app-secret"  # noqa: S105 (fake credentials)
    # Empty list = any redirect_uri is accepted at authorize (the exchange must still repeat it).
    allowed_redirect_uris: list[str] = Field(default_factory=list)

    # --- consent / login ----------------------------------------------------------------------
    consent_mode: Literal["auto_approve", "deny", "page"] = "auto_approve"
    default_username: str = "igpub_demo"
    # Scopes accepted at the IG authorize step (the deprecated business_* ones are refused).
    require_scope: bool = True

    # --- token endpoints ----------------------------------------------------------------------
    code_exchange_shape: Literal["documented", "flat"] = "documented"
    me_shape: Literal["flat", "data"] = "flat"
    code_ttl_seconds: int = 3600
    fb_code_ttl_seconds: int = 600  # UNCONFIRMED (Meta's figure not found)
    short_lived_seconds: int = 3600
    long_lived_seconds: int = 5_184_000
    # The response expires_in is a little smaller than the real lifetime (5183944 in Meta's sample).
    expires_in_skew_seconds: int = 56
    fb_short_lived_seconds: int = 3600
    refresh_min_age_seconds: int = 86_400
    # UNCONFIRMED: error for refreshing a token younger than 24 h.
    refresh_too_young_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(
            code=100,
            message="Invalid parameter: the access token cannot be refreshed before it is 24 hours old",
        )
    )
    # UNCONFIRMED: whether the old long-lived token dies when it is refreshed.
    refresh_revokes_old_token: bool = False
    # HTTP status of code-190 errors: 400 in every public sample; 401 is seen in some (OBS).
    auth_error_http_status: int = 400

    # --- publishing ---------------------------------------------------------------------------
    processing_seconds: dict[str, float] = Field(default_factory=_default_processing)
    container_ttl_seconds: int = 86_400
    quota_total: int = 100
    quota_duration: int = 86_400
    container_limit: int = 400
    container_limit_window_seconds: int = 86_400
    # UNCONFIRMED: error for the 401st container in 24 h.
    container_limit_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(
            code=9,
            message="Application request limit reached: an account can create at most 400 "
            "containers in a rolling 24 hour period",
        )
    )
    image_checks: Literal["sync", "async"] = "sync"
    fetch_timeout_seconds: float = 10.0
    image_max_bytes: int = 8 * 1024 * 1024
    reels_max_bytes: int = 300 * 1024 * 1024
    story_video_max_bytes: int = 100 * 1024 * 1024
    carousel_video_max_bytes: int = 300 * 1024 * 1024
    min_aspect_ratio: float = 0.8
    max_aspect_ratio: float = 1.91
    # Video durations (shortest, longest) in seconds by media_type; outside them a container ends in ERROR.
    # REELS 3 s - 15 min and STORIES 3 - 60 s as Meta's IG User Media page gives them; VIDEO (carousel items)
    # has no documented range and uses the Reels one (UNCONFIRMED). A kind missing here is not checked.
    video_seconds: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"REELS": (3.0, 900.0), "STORIES": (3.0, 60.0), "VIDEO": (3.0, 900.0)}
    )
    # Refuse videos whose first bytes show the moov atom after the media data, a codec other than H.264/HEVC,
    # a frame rate outside 23-60 fps or a width over 1920 px (Meta's media specs; the errors are UNCONFIRMED).
    video_spec_checks: bool = True
    # Used when the video's duration cannot be read from its mvhd box.
    default_video_seconds: float = 10.0
    # UNCONFIRMED: what publishing an already PUBLISHED container does. "duplicate" publishes it
    # again (a second media), so client bugs are visible; "error" returns republish_error.
    republish_mode: Literal["duplicate", "error"] = "duplicate"
    republish_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(code=9007, subcode=2207027, message="Media ID is not available")
    )
    # UNCONFIRMED: resumable upload with an IG Login token.
    resumable_on_ig_login: bool = True

    # --- hashtags -----------------------------------------------------------------------------
    hashtag_budget: int = 30
    hashtag_window_seconds: int = 7 * 86_400
    # UNCONFIRMED: the 31st unique hashtag. Code 18 comes from third-party plugin code only.
    hashtag_limit_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(
            code=18,
            message="(#18) Hashtag search limit reached: at most 30 unique hashtags per 7 days "
            "(fake: real message UNCONFIRMED)",
        )
    )
    # UNCONFIRMED: hashtag endpoints called on graph.instagram.com.
    hashtag_ig_host_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(
            code=100, message="Unsupported request - method type: get", type="IGApiException"
        )
    )
    hashtag_recent_count: int = 120
    hashtag_top_count: int = 50

    # --- rate limits --------------------------------------------------------------------------
    usage_headers: bool = True
    hourly_call_budget: int = 200
    throttle_code: Literal[4, 17, 80002] = 80002
    throttle_http_status: int = 400

    # --- comments (https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments)
    require_comment_scope: bool = True
    missing_scope_error: ErrorSpec = Field(  # UNCONFIRMED text for comments/insights without the scope
        default_factory=lambda: ErrorSpec(code=10, message="(#10) Application does not have permission for this action")
    )
    comments_page_size: int = 25  # UNCONFIRMED default page size (the maximum, 50, is documented)
    # UNCONFIRMED: `fields` on the create call creates the comment and then answers 20/1772107.
    comment_fields_quirk: bool = True
    comment_max_length: int = 2200  # UNCONFIRMED (0 = no limit)
    comment_too_long_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(code=100, message="(#100) The comment is too long")
    )
    comments_disabled_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(code=100, message="(#100) Comments are disabled for this media")
    )
    hidden_reply_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(code=100, message="(#100) Cannot reply to a hidden comment")
    )
    comment_hourly_write_cap: int = 60  # UNCONFIRMED legacy figure; 0 = no cap
    comment_write_cap_error: ErrorSpec = Field(
        default_factory=lambda: ErrorSpec(code=4, message="(#4) Application request limit reached",
                                          is_transient=True)
    )

    # --- insights (https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights)
    require_insights_scope: bool = True
    insights_lag_seconds: int = 0  # data can lag up to 48 h: empty `data` before this age
    insights_ramp_seconds: int = 7 * 86_400  # values grow linearly to their full size over this age
    story_min_viewers: int = 5
    carousel_child_insights_error: ErrorSpec = Field(  # UNCONFIRMED
        default_factory=lambda: ErrorSpec(code=100, message="(#100) Insights are not available for carousel children")
    )

    # --- webhooks (https://developers.facebook.com/docs/instagram-platform/webhooks)
    webhook_callback_url: str = ""  # empty = no app-level subscription
    webhook_fields: list[str] = Field(default_factory=lambda: ["comments"])
    webhook_verify_token: str = "local-verify-token"  # noqa: S105 (fake credentials)
    # UNCONFIRMED which secret signs IG-Login webhooks (public clients accept either app secret): the
    # Instagram app secret, the Meta app secret (fb_app_secret), or "other" = webhook_secret (a third one,
    # which igpub must refuse). A non-empty webhook_secret also wins over the default, as before.
    webhook_signed_with: Literal["instagram_app_secret", "meta_app_secret", "other"] = "instagram_app_secret"
    webhook_secret: str = ""
    app_live: bool = True
    # Retries on a non-200: delays after each failed attempt (a compressed stand-in for 36 h), then dropped.
    webhook_retry_delays_seconds: list[float] = Field(default_factory=lambda: [0.0, 60.0, 600.0, 3600.0])
    webhook_duplicates: int = 0  # extra redeliveries of a delivered notification (Meta may repeat)
    webhook_timeout_seconds: float = 10.0
    # UNCONFIRMED for API-created comments: own comments carry from.self_ig_scoped_id.
    own_comment_self_id: bool = True
    # UNCONFIRMED shape of a mention on IG Login: a `comments` change (default) or a `mentions` change.
    mention_field: Literal["comments", "mentions"] = "comments"

    # --- deauthorize and data deletion callbacks (https://developers.facebook.com/docs/apps/delete-data)
    # The URLs registered in the App Dashboard (Instagram: Business login settings; Facebook Login > Settings).
    deauthorize_callback_url: str = ""
    data_deletion_callback_url: str = ""
    fb_deauthorize_callback_url: str = ""
    fb_data_deletion_callback_url: str = ""
    # UNCONFIRMED which secret signs an Instagram Login app's signed_request: the Instagram app secret
    # ("instagram") or the Meta app secret ("meta"). Facebook Login's are signed with the Meta app secret.
    signed_request_secret: Literal["instagram", "meta"] = "instagram"  # noqa: S105 (which secret, not one)
    # UNCONFIRMED which id an Instagram Login signed_request carries as user_id: the account's user_id (the
    # IG professional account id) or the app-scoped id of /me ("id").
    signed_request_id: Literal["user_id", "id"] = "user_id"
    signed_request_timeout_seconds: float = 15.0


def merge_config(current: FakeConfig, patch: dict[str, Any]) -> FakeConfig:
    """Return a new config with ``patch`` merged in (nested dicts merged, not replaced)."""
    data = current.model_dump()

    def merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
        for key, value in src.items():
            if isinstance(value, dict) and isinstance(dst.get(key), dict):
                merge(dst[key], value)
            else:
                dst[key] = value

    merge(data, patch)
    return FakeConfig.model_validate(data)
