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
