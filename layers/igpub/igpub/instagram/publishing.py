"""Content publishing: containers, their status, ``media_publish`` (never retried) and the 24 h quota.

https://developers.facebook.com/docs/instagram-platform/content-publishing
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from igpub.instagram.core import GraphCore, Retry
from igpub.instagram.errors import Operation, UnexpectedResponseError
from igpub.instagram.models import Container, ContainerStatus, PublishingLimit


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Form-encode container parameters: booleans as ``true``/``false``, lists and dicts as compact JSON,
    ``children`` (a list of container ids) comma-separated as the reference documents, ``None`` dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif key == "children" and isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, list | tuple | dict):
            out[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            out[key] = str(value)
    return out


class PublishingApi(GraphCore):
    """Containers, ``media_publish`` and the publishing limit."""

    def create_container(self, ig_user_id: str, token: str, params: Mapping[str, Any]) -> Container:
        """``POST /{ig_user_id}/media``. See the module docstring for when it is retried."""
        body = self._graph(
            "POST",
            f"{ig_user_id}/media",
            token,
            data=encode_params(params),
            op=Operation.WRITE,
            retry=Retry.CREATE,
            account_id=ig_user_id,
        )
        return self._model(Container, body, "media")

    def get_container_status(self, container_id: str, token: str, *, account_id: str | None = None) -> ContainerStatus:
        body = self._graph(
            "GET", container_id, token, params={"fields": "id,status_code,status"}, account_id=account_id
        )
        return self._model(ContainerStatus, body, "container")

    def publish(self, ig_user_id: str, token: str, creation_id: str) -> str:
        """``POST /{ig_user_id}/media_publish`` -> the media id. Never retried: on any error, check the
        container's ``status_code`` (PUBLISHED means it worked) before trying again."""
        body = self._graph(
            "POST",
            f"{ig_user_id}/media_publish",
            token,
            data={"creation_id": creation_id},
            op=Operation.PUBLISH,
            retry=Retry.NEVER,
            account_id=ig_user_id,
        )
        media_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(media_id, int) and not isinstance(media_id, bool):
            media_id = str(media_id)
        if not isinstance(media_id, str) or not media_id:
            raise UnexpectedResponseError("media_publish answered without a media id")
        return media_id

    def get_publishing_limit(self, ig_user_id: str, token: str) -> PublishingLimit:
        body = self._graph(
            "GET",
            f"{ig_user_id}/content_publishing_limit",
            token,
            params={"fields": "quota_usage,config"},
            account_id=ig_user_id,
        )
        return self._model(PublishingLimit, body, "content_publishing_limit")
