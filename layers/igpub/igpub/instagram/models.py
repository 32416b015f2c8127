"""Pydantic models of every Instagram / Graph API response igpub reads.

Token fields are ``SecretStr``: they never show in reprs, ``str()`` or ``model_dump_json()`` output; call
``.get_secret_value()`` at the one place that needs the raw value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "AppUsage",
    "BusinessUseCaseUsage",
    "Comment",
    "CommentAuthor",
    "Container",
    "ContainerStatus",
    "ContainerStatusCode",
    "FacebookPage",
    "FacebookToken",
    "HashtagMedia",
    "HashtagSearchResult",
    "InsightMetric",
    "InstagramAccountRef",
    "LongLivedToken",
    "Me",
    "Media",
    "PublishingLimit",
    "ShortLivedToken",
    "SubscribedApp",
    "Usage",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _first_of_data(value: Any) -> Any:
    """Unwrap ``{"data":[{...}]}`` (and ``{"data":{...}}``) into the inner object; flat objects stay."""
    if isinstance(value, Mapping) and "data" in value:
        data = value["data"]
        if isinstance(data, list):
            if not data:
                raise ValueError("empty data list")
            return data[0]
        if isinstance(data, Mapping):
            return data
    return value


def _id_str(value: Any) -> Any:
    """IDs arrive as JSON strings or numbers; keep them as strings (never floats)."""
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if isinstance(value, int):
        return str(value)
    return value


# --------------------------------------------------------------------------------------------------------
# Tokens and identity


class ShortLivedToken(_Model):
    """``POST api.instagram.com/oauth/access_token``: documented ``{"data":[{...}]}`` or the flat shape."""

    access_token: SecretStr
    user_id: str
    permissions: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return _first_of_data(value)

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id(cls, value: Any) -> Any:
        return _id_str(value)

    @field_validator("permissions", mode="before")
    @classmethod
    def _permissions(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value


class LongLivedToken(_Model):
    """``GET graph.instagram.com/access_token`` and ``/refresh_access_token``."""

    access_token: SecretStr
    token_type: str = "bearer"  # noqa: S105 - not a secret
    expires_in: int  # seconds


class Me(_Model):
    """``GET /me?fields=user_id,username,account_type,id``. ``user_id`` is the IG professional account id."""

    id: str
    user_id: str
    username: str
    account_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return _first_of_data(value)

    @field_validator("id", "user_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


class FacebookToken(_Model):
    """``GET graph.facebook.com/{v}/oauth/access_token``: ``expires_in`` may be absent or be ``expires``."""

    access_token: SecretStr
    token_type: str | None = None
    expires_in: int | None = Field(default=None, validation_alias=AliasChoices("expires_in", "expires"))


class InstagramAccountRef(_Model):
    id: str

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


class FacebookPage(_Model):
    """An entry of ``GET /me/accounts?fields=id,name,access_token,instagram_business_account``."""

    id: str
    name: str = ""
    instagram_business_account: InstagramAccountRef | None = None
    access_token: SecretStr | None = None  # the Page token, when requested

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


# --------------------------------------------------------------------------------------------------------
# Publishing

ContainerStatusCode = Literal["EXPIRED", "ERROR", "FINISHED", "IN_PROGRESS", "PUBLISHED"]


class Container(_Model):
    """``POST /{ig_user_id}/media``: ``uri`` only for ``upload_type=resumable``."""

    id: str
    uri: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


class ContainerStatus(_Model):
    """``GET /{container_id}?fields=id,status_code,status``."""

    id: str
    status_code: ContainerStatusCode
    status: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)

    @field_validator("status_code", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class PublishingLimit(_Model):
    """``GET /{ig_user_id}/content_publishing_limit?fields=quota_usage,config`` (flattened)."""

    quota_usage: int
    quota_total: int
    quota_duration: int

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        inner = _first_of_data(value)
        if isinstance(inner, Mapping):
            config = inner.get("config") or {}
            if isinstance(config, Mapping):
                return {**config, **{k: v for k, v in inner.items() if k != "config"}}
        return inner

    @property
    def remaining(self) -> int:
        return max(0, self.quota_total - self.quota_usage)


class Media(_Model):
    """``GET /{media_id}?fields=...``."""

    id: str
    permalink: str | None = None
    media_type: str | None = None
    media_product_type: str | None = None
    shortcode: str | None = None
    timestamp: datetime | None = None  # ISO-8601 ("2019-09-26T22:36:43+0000") or unix seconds
    caption: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


# --------------------------------------------------------------------------------------------------------
# Comments
# https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment


class CommentAuthor(_Model):
    id: str
    username: str | None = None
    self_ig_scoped_id: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


class Comment(_Model):
    """An IG Comment. ``user`` is returned only on comments the account itself wrote."""

    id: str
    text: str = ""
    timestamp: datetime | None = None
    username: str | None = None
    author: CommentAuthor | None = Field(default=None, validation_alias=AliasChoices("from", "author"))
    user: InstagramAccountRef | None = None
    hidden: bool | None = None
    like_count: int | None = None
    parent_id: str | None = None
    replies: list[Comment] = Field(default_factory=list)

    @field_validator("id", "parent_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)

    @field_validator("replies", mode="before")
    @classmethod
    def _replies(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return value.get("data") or []
        return value or []

    def written_by(self, ig_user_id: str) -> bool:
        """True when the account ``ig_user_id`` wrote this comment (``user``, or ``from.id``)."""
        if self.user is not None and self.user.id == ig_user_id:
            return True
        return self.author is not None and self.author.id == ig_user_id


# --------------------------------------------------------------------------------------------------------
# Insights
# https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights
# https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights


class InsightMetric(_Model):
    """One item of an insights ``data`` list: ``values[]`` (lifetime / time series) or ``total_value``."""

    name: str
    period: str | None = None
    title: str | None = None
    values: list[dict[str, Any]] = Field(default_factory=list)
    total_value: dict[str, Any] | None = None

    @property
    def value(self) -> int | float | None:
        """The single number: ``total_value.value``, else the last of ``values`` (lifetime has one)."""
        if self.total_value is not None and isinstance(self.total_value.get("value"), int | float):
            return self.total_value["value"]  # type: ignore[no-any-return]
        for item in reversed(self.values):
            if isinstance(item.get("value"), int | float) and not isinstance(item.get("value"), bool):
                return item["value"]  # type: ignore[no-any-return]
        return None


class SubscribedApp(_Model):
    """An item of ``GET /{ig_user_id}/subscribed_apps``."""

    id: str | None = None
    subscribed_fields: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------------
# Hashtags (Facebook Login host)


class HashtagSearchResult(_Model):
    """``GET /ig_hashtag_search``: ``{"data":[{"id":...}]}`` or a bare ``{"id":...}``."""

    id: str

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return _first_of_data(value)

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


class HashtagMedia(_Model):
    """An item of ``/{hashtag_id}/top_media`` or ``/recent_media`` (``username`` is never returned)."""

    id: str
    caption: str | None = None
    media_type: str | None = None
    media_url: str | None = None
    permalink: str | None = None
    timestamp: datetime | None = None  # ISO-8601 or unix seconds
    like_count: int | None = None
    comments_count: int | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_str(value)


# --------------------------------------------------------------------------------------------------------
# Usage headers


class AppUsage(_Model):
    """``X-App-Usage``: whole-number percentages of the app's (Platform) allowance."""

    call_count: float = 0
    total_time: float = 0
    total_cputime: float = 0

    @property
    def max_pct(self) -> float:
        return max(self.call_count, self.total_time, self.total_cputime)


class BusinessUseCaseUsage(_Model):
    """One entry of ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access`` is in minutes)."""

    object_id: str
    type: str | None = None
    call_count: float = 0
    total_time: float = 0
    total_cputime: float = 0
    estimated_time_to_regain_access: float = 0

    @property
    def max_pct(self) -> float:
        return max(self.call_count, self.total_time, self.total_cputime)


_APP_USAGE_HEADERS = ("x-app-usage",)
_BUC_HEADERS = ("x-business-use-case-usage", "x-business-use-case")


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        if lowered.get(name):
            return lowered[name]
    return None


class Usage(_Model):
    """The usage headers of one response, parsed. Absent headers mean nothing (Meta sends them lazily)."""

    app: AppUsage | None = None
    business: tuple[BusinessUseCaseUsage, ...] = ()

    @property
    def present(self) -> bool:
        return self.app is not None or bool(self.business)

    @property
    def max_pct(self) -> float:
        values = [b.max_pct for b in self.business]
        if self.app is not None:
            values.append(self.app.max_pct)
        return max(values, default=0.0)

    @property
    def regain_after_s(self) -> float:
        """Seconds until access is regained (0 when not throttled or unknown)."""
        return max((b.estimated_time_to_regain_access * 60.0 for b in self.business), default=0.0)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Usage:
        """Parse both headers; malformed JSON in one header is ignored rather than failing the call."""
        app: AppUsage | None = None
        business: list[BusinessUseCaseUsage] = []
        raw_app = _header(headers, _APP_USAGE_HEADERS)
        if raw_app:
            try:
                parsed = json.loads(raw_app)
                if isinstance(parsed, dict):
                    app = AppUsage.model_validate(parsed)
            except ValueError:
                app = None
        raw_buc = _header(headers, _BUC_HEADERS)
        if raw_buc:
            try:
                parsed = json.loads(raw_buc)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                for object_id, entries in parsed.items():
                    items = entries if isinstance(entries, list) else [entries]
                    for entry in items:
                        if not isinstance(entry, dict):
                            continue
                        try:
                            business.append(BusinessUseCaseUsage.model_validate({**entry, "object_id": str(object_id)}))
                        except ValueError:
                            continue
        return cls(app=app, business=tuple(business))
