"""One home per post kind: what each kind takes, how it is checked, and its container parameters.

Validation (``igpub.publishing.request``), the media checks and container creation
(``igpub.publishing.workflow``), the post record (``PostRecord.publish_container``) and the CLI's
``--kind`` choices all read :data:`KINDS`; adding a kind means adding a row here (and its rules in
Instagram's content publishing guide, https://developers.facebook.com/docs/instagram-platform/content-publishing).

This module imports nothing from igpub at run time, so every layer may read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from igpub.publishing.request import MediaItem, PostRequest, UserTag

PostKind = Literal["image", "carousel", "reel", "story"]
MediaType = Literal["image", "video"]
ImageRole = Literal["feed", "story"]  # igpub.publishing.media_check.check_image
VideoRole = Literal["reel", "story", "carousel"]  # igpub.publishing.media_check.check_video

# Request fields that only a reel takes.
REEL_ONLY_FIELDS = ("cover_url", "thumb_offset", "share_to_feed", "audio_name", "trial_params")

MediaUrl = Callable[["MediaItem"], str]  # a media item's public URL (presigned for a bucket key)
Params = dict[str, Any]


@dataclass(frozen=True)
class KindSpec:
    name: PostKind
    label: str  # "a reel": how messages name a post of this kind
    plural: str  # "reels"
    min_items: int
    max_items: int
    media_type: MediaType | None  # the one media type a single-item kind takes (None: either)
    wrong_media: str  # the problem when media[0] is not media_type
    suggest_carousel: bool  # more than one item: point to the carousel kind
    caption: bool  # takes a caption (and so hashtags)
    collaborators: bool
    location: bool
    alt_text: bool  # its images take alt text
    user_tags: Literal["post", "items"]  # where user tags go: on the post, or on each image item
    tag_position_required: bool  # post-level tags need x/y (images)
    reel_options: bool  # takes REEL_ONLY_FIELDS
    image_role: ImageRole
    video_role: VideoRole
    parent: bool  # published through a parent container made of the item containers
    items: Callable[[PostRequest, str, MediaUrl], list[Params]]  # container parameters of each item

    @property
    def single(self) -> bool:
        return self.max_items == 1


def _tags(tags: list[UserTag]) -> list[dict[str, Any]]:
    out = []
    for t in tags:
        d: dict[str, Any] = {"username": t.username}
        if t.x is not None and t.y is not None:
            d["x"], d["y"] = t.x, t.y
        out.append(d)
    return out


def drop_empty(params: Params) -> Params:
    return {k: v for k, v in params.items() if v not in (None, "", [], {})}


def _image_items(req: PostRequest, caption: str, url: MediaUrl) -> list[Params]:
    m = req.media[0]
    return [
        drop_empty(
            {
                "image_url": url(m),
                "caption": caption,
                "alt_text": m.alt_text,
                "location_id": req.location_id,
                "user_tags": _tags(req.user_tags or m.user_tags),
                "collaborators": req.collaborators,
            }
        )
    ]


def _reel_items(req: PostRequest, caption: str, url: MediaUrl) -> list[Params]:
    m = req.media[0]
    return [
        drop_empty(
            {
                "media_type": "REELS",
                "video_url": url(m),
                "caption": caption,
                "share_to_feed": req.share_to_feed,
                "collaborators": req.collaborators,
                "cover_url": req.cover_url,
                "audio_name": req.audio_name,
                "user_tags": _tags(req.user_tags or m.user_tags),
                "location_id": req.location_id,
                "thumb_offset": req.thumb_offset,
                "trial_params": req.trial_params.model_dump() if req.trial_params else None,
            }
        )
    ]


def _story_items(req: PostRequest, caption: str, url: MediaUrl) -> list[Params]:
    m = req.media[0]
    key = "image_url" if m.type == "image" else "video_url"
    return [drop_empty({"media_type": "STORIES", key: url(m), "user_tags": _tags(req.user_tags or m.user_tags)})]


def _carousel_items(req: PostRequest, caption: str, url: MediaUrl) -> list[Params]:
    out = []
    for item in req.media:
        if item.type == "image":
            out.append(
                drop_empty(
                    {
                        "image_url": url(item),
                        "is_carousel_item": True,
                        "alt_text": item.alt_text,
                        "user_tags": _tags(item.user_tags),
                    }
                )
            )
        else:
            out.append({"media_type": "VIDEO", "video_url": url(item), "is_carousel_item": True})
    return out


def parent_params(req: PostRequest, caption: str, children: list[str]) -> Params:
    """The carousel's parent container (the one that is published)."""
    return drop_empty(
        {
            "media_type": "CAROUSEL",
            "children": children,
            "caption": caption,
            "collaborators": req.collaborators,
            "location_id": req.location_id,
        }
    )


KINDS: dict[PostKind, KindSpec] = {
    "image": KindSpec(
        name="image",
        label="an image post",
        plural="image posts",
        min_items=1,
        max_items=1,
        media_type="image",
        wrong_media='an image post needs an image, but media[0] is a video (use kind "reel" for a video)',
        suggest_carousel=True,
        caption=True,
        collaborators=True,
        location=True,
        alt_text=True,
        user_tags="post",
        tag_position_required=True,
        reel_options=False,
        image_role="feed",
        video_role="carousel",
        parent=False,
        items=_image_items,
    ),
    "carousel": KindSpec(
        name="carousel",
        label="a carousel",
        plural="carousels",
        min_items=2,
        max_items=10,
        media_type=None,
        wrong_media="",
        suggest_carousel=False,
        caption=True,
        collaborators=True,
        location=True,
        alt_text=True,
        user_tags="items",
        tag_position_required=True,
        reel_options=False,
        image_role="feed",
        video_role="carousel",
        parent=True,
        items=_carousel_items,
    ),
    "reel": KindSpec(
        name="reel",
        label="a reel",
        plural="reels",
        min_items=1,
        max_items=1,
        media_type="video",
        wrong_media='a reel needs a video, but media[0] is an image (use kind "image" for a photo)',
        suggest_carousel=True,
        caption=True,
        collaborators=True,
        location=True,
        alt_text=True,
        user_tags="post",
        tag_position_required=False,
        reel_options=True,
        image_role="feed",
        video_role="reel",
        parent=False,
        items=_reel_items,
    ),
    "story": KindSpec(
        name="story",
        label="a story",
        plural="stories",
        min_items=1,
        max_items=1,
        media_type=None,
        wrong_media="",
        suggest_carousel=False,
        caption=False,
        collaborators=False,
        location=False,
        alt_text=False,
        user_tags="post",
        tag_position_required=False,
        reel_options=False,
        image_role="story",
        video_role="story",
        parent=False,
        items=_story_items,
    ),
}
