"""The post-kind table (igpub.publishing.kinds) is the one place that knows each kind."""

from __future__ import annotations

from typing import get_args

import pytest

from igpub.publishing.kinds import KINDS, PostKind, parent_params
from igpub.publishing.request import MediaItem, PostRequest, parse_request
from igpub.repositories.posts import PostRecord

URLS = {"image": "https://cdn.example/a.jpg", "video": "https://cdn.example/v.mp4"}


def _url(item: MediaItem) -> str:
    return item.url or f"https://bucket.example/{item.key}"


def test_every_kind_has_one_row() -> None:
    assert set(KINDS) == set(get_args(PostKind))
    for name, spec in KINDS.items():
        assert spec.name == name and spec.min_items <= spec.max_items


@pytest.mark.parametrize(
    "kind,media,expected",
    [
        ("image", ["image"], [{"image_url": URLS["image"], "caption": "hi"}]),
        ("reel", ["video"], [{"media_type": "REELS", "video_url": URLS["video"], "caption": "hi"}]),
        ("story", ["video"], [{"media_type": "STORIES", "video_url": URLS["video"]}]),
        (
            "carousel",
            ["image", "video"],
            [
                {"image_url": URLS["image"], "is_carousel_item": True},
                {"media_type": "VIDEO", "video_url": URLS["video"], "is_carousel_item": True},
            ],
        ),
    ],
)
def test_container_parameters_per_kind(kind: str, media: list[str], expected: list[dict[str, object]]) -> None:
    caption = "" if kind == "story" else "hi"
    items = [{"url": URLS[t]} for t in media]
    req = parse_request({"account_id": "1", "kind": kind, "media": items, "caption": caption})
    assert KINDS[req.kind].items(req, req.caption, _url) == expected


def test_only_the_carousel_publishes_a_parent() -> None:
    assert [k for k, s in KINDS.items() if s.parent] == ["carousel"]
    req = PostRequest.model_validate(
        {"account_id": "1", "kind": "carousel", "media": [{"url": URLS["image"]}] * 2, "caption": "c"}
    )
    assert parent_params(req, "c", ["a", "b"]) == {"media_type": "CAROUSEL", "children": ["a", "b"], "caption": "c"}
    base = {"post_id": "p", "account_id": "1", "request": "{}", "status": "processing", "execution_id": "e"}
    times = {"created_at": "t", "updated_at": "t", "started_at": 0}
    carousel = PostRecord(**base, **times, kind="carousel", item_containers=["a", "b"])  # type: ignore[arg-type]
    assert carousel.publish_container is None
    assert carousel.model_copy(update={"parent_container": "p1"}).publish_container == "p1"
    image = PostRecord(**base, **times, kind="image", item_containers=["a"])  # type: ignore[arg-type]
    assert image.publish_container == "a"

