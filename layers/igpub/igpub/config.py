"""The one configuration model of igpub.

Read once per cold start (``get_settings()``) and passed down as a parameter. Every field is an
environment variable with the ``IGPUB_`` prefix (``IGPUB_ACCOUNTS_TABLE`` ...), matched without regard
to case and validated by pydantic (``"true"``, ``"5"`` ...). Nothing here reads the environment at import
time. A plain pydantic model rather than pydantic-settings: its sources (dotenv, CLI, cloud secrets)
and their imports (asyncio, argparse) cost every cold start about a tenth of the libraries' floor,
for a job that is one dict comprehension here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

REQUIRED_SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
ENV_PREFIX = "IGPUB_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # --- Instagram / Meta hosts (real ones by default; the local stack points them at the fake)
    instagram_authorize_url: str = "https://www.instagram.com/oauth/authorize"
    instagram_api_base: str = "https://api.instagram.com"
    graph_instagram_base: str = "https://graph.instagram.com"
    graph_facebook_base: str = "https://graph.facebook.com"
    facebook_dialog_url: str = "https://www.facebook.com/v25.0/dialog/oauth"
    graph_api_version: str = "v25.0"

    # --- The Instagram app (Business Login for Instagram)
    instagram_app_id: str = ""
    # Name or ARN of the Secrets Manager secret that holds the Instagram app secret.
    app_secret_name: str = ""
    facebook_app_id: str = ""
    facebook_app_secret_name: str = ""
    oauth_redirect_uri: str = ""  # wins over redirect_uri_parameter (a custom domain)
    redirect_uri_parameter: str = ""  # SSM parameter holding the API Gateway callback URL
    facebook_redirect_uri: str = ""  # wins over facebook_redirect_uri_parameter
    facebook_redirect_uri_parameter: str = ""  # SSM parameter holding the Facebook Login callback URL
    extra_scopes: str = ""  # comma-separated, added to REQUIRED_SCOPES
    oauth_state_ttl_s: int = 600

    # --- AWS resources
    accounts_table: str = "igpub-accounts"
    states_table: str = "igpub-oauth-states"
    posts_table: str = "igpub-posts"
    hashtags_table: str = "igpub-hashtags"
    usage_table: str = "igpub-usage"
    idempotency_table: str = "igpub-idempotency"
    invites_table: str = "igpub-invites"
    kms_key_id: str = ""
    media_bucket: str = ""
    event_bus_name: str = "default"
    webhook_events_table: str = "igpub-webhook-events"
    webhook_verify_token_name: str = ""  # Secrets Manager secret holding the webhook verify token

    # --- Meta's deauthorize and data deletion callbacks (igpub.connect.deauthorize / .deletion)
    deletions_table: str = "igpub-deletions"
    data_deletion_function: str = ""  # the function that deletes a person's data (invoked asynchronously)
    data_deletion_status_url: str = ""  # wins over data_deletion_status_url_parameter (a custom domain)
    data_deletion_status_url_parameter: str = ""  # SSM parameter holding the status page's public URL

    # --- Instagram client behaviour
    http_timeout_s: float = 10.0
    # media_publish may take long at Instagram; a timeout leaves its outcome unknown, so wait longer
    publish_timeout_s: float = 60.0
    # after a publish whose outcome is unknown, a FINISHED container is published again only this
    # long after the attempt (a late publish at Instagram would otherwise be duplicated)
    publish_verify_delay_s: int = 120
    max_read_retries: int = 3
    retry_base_delay_s: float = 0.5
    retry_max_delay_s: float = 8.0
    usage_threshold_pct: float = 90.0
    hourly_call_budget: int = 200
    # Pause an account's calls at least this long once its reported usage reaches usage_threshold_pct.
    usage_cooldown_s: int = 300

    # --- Publishing
    presigned_url_ttl_s: int = 6 * 3600
    allow_http_media: bool = False  # only the local stack serves media over plain http
    status_poll_interval_s: int = 5
    max_status_checks: int = 60
    # CheckContainers polls inside the task for up to this long before handing back to a Wait state: a
    # sleeping Lambda at 192 MB costs less than the 3 state transitions of each Wait loop (README)
    status_poll_in_task_s: int = Field(default=20, ge=0, le=40)

    # --- Tokens
    refresh_window_days: int = 14
    refresh_min_age_s: int = 24 * 3600
    refresh_concurrency: int = 8
    refresh_page_size: int = 100  # accounts per query page of the refresh-due index
    # Stop starting refreshes when the Lambda has less than this left (one refresh can take a while:
    # HTTP timeouts with retries, KMS and DynamoDB calls).
    refresh_safety_margin_s: int = 120

    # --- Hashtags
    hashtags_per_post: int = Field(default=15, ge=0, le=30)
    hashtag_search_budget: int = 30
    hashtag_window_s: int = 7 * 24 * 3600

    @property
    def scopes(self) -> list[str]:
        extra = [s.strip() for s in self.extra_scopes.split(",") if s.strip()]
        return list(dict.fromkeys([*REQUIRED_SCOPES, *extra]))

    def graph_url(self, path: str, *, facebook: bool = False) -> str:
        base = self.graph_facebook_base if facebook else self.graph_instagram_base
        return f"{base.rstrip('/')}/{self.graph_api_version}/{path.lstrip('/')}"


    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``IGPUB_*`` variables (``os.environ`` by default); ``overrides`` win."""
        env = os.environ if environ is None else environ
        n = len(ENV_PREFIX)
        values: dict[str, object] = {k[n:].lower(): v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
        return cls.model_validate({**values, **overrides})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings.from_env()
