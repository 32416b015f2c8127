"""The typed Instagram Graph API client (Instagram Login on graph.instagram.com, Facebook Login on
graph.facebook.com): one class put together from the HTTP core (``igpub.instagram.core``: auth, retries,
usage, error parsing) and one module per API family.

Retry rules (reads freely, ``media_publish`` never blindly: see "Never twice" in the README):

* reads (GET) are retried on ``TransientError`` (including ``NetworkError``) with full-jitter exponential
  backoff, ``max_read_retries`` times;
* ``create_container`` is retried only when Instagram says explicitly that nothing was created (the error
  table's ``resend_safe`` rows: 1, 2, -1/2207001, -1/2207032, -2/2207003, unless ``is_transient: false``)
  or when the connection could not be set up;
* ``publish`` is never retried, not even on a connection error: the caller checks the container status;
* code exchanges (single-use codes) are retried only when the connection could not be set up;
* ``RateLimitedError`` is never slept on here: it carries ``retry_after_s`` for the caller (Step Functions).

Secrets: graph calls send the token as ``Authorization: Bearer``. The token endpoints that document query
parameters get them as query parameters; httpx/httpcore loggers are raised to WARNING so no URL is logged,
our own log lines carry the path only, and no error message contains a token, a code or a secret.
"""

from __future__ import annotations

from igpub.instagram.comments import COMMENT_FIELDS, CommentsApi
from igpub.instagram.core import GraphCore, quiet_http_loggers
from igpub.instagram.facebook import HASHTAG_MEDIA_FIELDS, FacebookApi
from igpub.instagram.insights import InsightsApi
from igpub.instagram.media import DEFAULT_MEDIA_FIELDS, MediaApi
from igpub.instagram.publishing import PublishingApi, encode_params
from igpub.instagram.subscriptions import SubscriptionsApi
from igpub.instagram.tokens import TokensApi, strip_code

__all__ = [
    "COMMENT_FIELDS",
    "DEFAULT_MEDIA_FIELDS",
    "HASHTAG_MEDIA_FIELDS",
    "GraphCore",
    "InstagramClient",
    "encode_params",
    "quiet_http_loggers",
    "strip_code",
]


class InstagramClient(
    TokensApi, PublishingApi, MediaApi, CommentsApi, InsightsApi, SubscriptionsApi, FacebookApi
):
    """Every Instagram Graph API call igpub makes, typed. Tokens are plain ``str`` arguments; results are
    pydantic models. Each family can also be used alone (``PublishingApi(settings, http=...)``)."""
