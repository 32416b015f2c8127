"""The post request: the input of the PublishPost state machine, and its validation.

``PostRequest`` is what a user (CLI, SDK, console) hands to Step Functions, so it holds **no token**:
the tasks look the account's token up themselves. ``extra="forbid"`` keeps anything else out.

Two layers of checks, both reported as one readable sentence per problem:

* the pydantic model checks the shape (types, allowed values, unknown fields, one of ``url``/``key``
  per media item, the media type inferred from the extension);
* ``validate_request`` checks Instagram's rules (the parameters and media specifications of
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media)
  and igpub's own (per kind: igpub.publishing.kinds), and reports
  every problem it finds, not just the first.

``parse_request`` runs both and raises ``RequestInvalid`` with all the problems. When the shape is
wrong the model cannot be built, so only the shape problems are reported in that case.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from igpub.publishing.captions import (
    CAPTION_MAX_CHARS,
    MAX_HASHTAGS,
    MAX_MENTIONS,
    caption_length,
    count_hashtags,
    count_mentions,
)
from igpub.publishing.errors import RequestInvalid
from igpub.publishing.kinds import KINDS, REEL_ONLY_FIELDS, MediaType, PostKind

__all__ = [
    "ALT_TEXT_MAX_CHARS",
    "CAROUSEL_MAX_ITEMS",
    "CAROUSEL_MIN_ITEMS",
    "MAX_COLLABORATORS",
    "MAX_SCHEDULE_AHEAD",
    "PAST_TOLERANCE",
    "MediaItem",
    "MediaType",
    "PostKind",
    "PostRequest",
    "RequestInvalid",
    "TrialParams",
    "UserTag",
    "count_hashtags",
    "count_mentions",
    "infer_media_type",
    "parse_request",
    "schedule_problems",
    "validate_request",
]

CAROUSEL_MIN_ITEMS = KINDS["carousel"].min_items
CAROUSEL_MAX_ITEMS = KINDS["carousel"].max_items
ALT_TEXT_MAX_CHARS = 1000
MAX_COLLABORATORS = 3
HASHTAG_COUNT_MAX = MAX_HASHTAGS
# igpub's choice, not Instagram's: Instagram containers expire after 24 h, so igpub creates them at
# publish time and a schedule only needs a Step Functions Wait (which can wait up to a year). 75 days
# keeps schedules within reach of a token refresh cycle and catches typos in the year or month.
MAX_SCHEDULE_AHEAD = timedelta(days=75)
# A publish_at up to this much in the past means "now" (a clock a little behind, or a post written a
# minute ago); further back it is far more likely a wrong date than a wish to publish at once.
PAST_TOLERANCE = timedelta(minutes=5)

_EXTENSIONS: dict[str, MediaType] = {
    ".jpg": "image",
    ".jpeg": "image",
    ".mp4": "video",
    ".mov": "video",
    # igpub.media prepares these (bucket keys, --file, and URLs with prepare: true)
    **dict.fromkeys((".png", ".webp", ".heic", ".heif", ".gif", ".tif", ".tiff", ".avif", ".bmp"), "image"),
    **dict.fromkeys((".webm", ".mkv", ".m4v", ".avi"), "video"),
}
_INSTAGRAM_EXTENSIONS = (".jpg", ".jpeg", ".mp4", ".mov")  # what Instagram fetches as it is
_FILL_RE = re.compile(r"blur|#[0-9a-fA-F]{6}|white|black|gr[ae]y")
_CLIENT_POST_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USERNAME_RE = re.compile(r"[A-Za-z0-9._]{1,30}")


def infer_media_type(location: str) -> MediaType | None:
    """``image`` for .jpg/.jpeg, ``video`` for .mp4/.mov (case-insensitive; a URL's query is ignored)."""
    path = urlsplit(location).path if "://" in location else location
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return _EXTENSIONS.get(path[dot:].lower())


class UserTag(BaseModel):
    """A tagged account; ``x``/``y`` are the tag's position (0..1), required on images."""

    model_config = ConfigDict(extra="forbid")

    username: str
    x: float | None = None
    y: float | None = None


class TrialParams(BaseModel):
    """Trial reels (shown to non-followers only)."""

    model_config = ConfigDict(extra="forbid")

    graduation_strategy: Literal["MANUAL", "SS_PERFORMANCE"]


class MediaItem(BaseModel):
    """One photo or video: a public ``url``, or the ``key`` of an object in the media bucket."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    key: str | None = None
    type: MediaType
    alt_text: str | None = None
    user_tags: list[UserTag] = Field(default_factory=list)
    focal_point: str | None = None  # "x,y" (0..1 from the top left): where fit "crop" centres (igpub.media)

    @model_validator(mode="before")
    @classmethod
    def _source_and_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        url, key = data.get("url"), data.get("key")
        if (url is None) == (key is None):
            raise PydanticCustomError(
                "media_source",
                "give exactly one of url (a public URL) or key (an object key in the media bucket)"
                + (", not both" if url is not None else ""),
            )
        if data.get("type") is None:
            location = url if url is not None else key
            if isinstance(location, str):
                inferred = infer_media_type(location)
                if inferred is None:
                    raise PydanticCustomError(
                        "media_type_unknown",
                        "cannot tell whether '{location}' is an image or a video from its extension "
                        '(.jpg/.jpeg/.png/.heic... or .mp4/.mov/.webm...); set "type" to "image" or "video"',
                        {"location": location},
                    )
                data = {**data, "type": inferred}
        return data


class PostRequest(BaseModel):
    """A post to publish: the Step Functions input (no tokens here)."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    kind: PostKind
    media: list[MediaItem]
    caption: str = ""
    location_id: str | None = None
    collaborators: list[str] = Field(default_factory=list)
    cover_url: str | None = None
    thumb_offset: int | None = None  # milliseconds
    share_to_feed: bool | None = None
    audio_name: str | None = None
    trial_params: TrialParams | None = None
    user_tags: list[UserTag] = Field(default_factory=list)  # single image, reel or story
    publish_at: datetime | None = None  # aware UTC once valid
    client_post_id: str | None = None  # execution name and idempotency key
    hashtag_pool: str | None = None
    hashtag_count: int | None = None
    # A comment the account posts on its own media right after publishing (never twice); with
    # hashtags_in="first_comment" the pool's hashtags go into it instead of the caption.
    first_comment: str | None = None
    hashtags_in: Literal["caption", "first_comment"] = "caption"
    # igpub.media: how a picture outside the kind's aspect ratio is fitted (pad, the default, loses nothing;
    # crop keeps the focal point; refuse fails the post as before); what fills the bars when padding (blur, or
    # a colour #rrggbb / white / black / grey); and whether media given by URL are fetched and prepared too.
    fit: Literal["pad", "crop", "refuse"] = "pad"
    fill: str = "blur"
    prepare: bool = False

    @field_validator("publish_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        # A naive value is kept as is so that validate_request reports it with the other problems.
        if value is not None and value.utcoffset() is not None:
            return value.astimezone(UTC)
        return value


# --------------------------------------------------------------------------------------- validation


def _check_url(field: str, url: str, *, allow_http: bool) -> list[str]:
    problems: list[str] = []
    if not url.isascii():
        odd = "".join(dict.fromkeys(c for c in url if not c.isascii()))
        problems.append(
            f"{field} contains non-ASCII characters ({odd}); Instagram only fetches US-ASCII URLs, "
            "so percent-encode them"
        )
    if any(c.isspace() for c in url):
        problems.append(f"{field} contains whitespace; remove it or percent-encode it (%20)")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_http else ("https",)
    if scheme not in allowed:
        if scheme == "http":
            problems.append(f"{field} must use https (Instagram fetches media over https): {url!r}")
        else:
            problems.append(f"{field} must be an {' or '.join(allowed)} URL: {url!r}")
    elif not parts.netloc:
        problems.append(f"{field} has no host name: {url!r}")
    elif scheme == "http" and not _loopback(parts.hostname or ""):  # AllowHttpMedia: the local stack's fake only
        problems.append(
            f"{field} must use https: plain http is allowed for the local stack's own host (127.0.0.1) only: {url!r}"
        )
    return problems


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        return False


def _check_user_tags(field: str, tags: list[UserTag], *, position_required: bool) -> list[str]:
    problems: list[str] = []
    for i, tag in enumerate(tags):
        where = f"{field}[{i}]"
        if not _USERNAME_RE.fullmatch(tag.username):
            hint = " (write it without the @)" if tag.username.startswith("@") else ""
            problems.append(f"{where}.username {tag.username!r} is not an Instagram username{hint}")
        if tag.x is None or tag.y is None:
            if position_required:
                problems.append(f"{where} needs x and y (0.0 to 1.0): image tags have a position")
            elif (tag.x is None) != (tag.y is None):
                problems.append(f"{where} gives only one of x and y; give both or neither")
        for axis, value in (("x", tag.x), ("y", tag.y)):
            if value is not None and not 0.0 <= value <= 1.0:
                problems.append(f"{where}.{axis} is {value}; it must be between 0.0 and 1.0")
    return problems


def _check_media_counts(req: PostRequest) -> list[str]:
    spec = KINDS[req.kind]
    n = len(req.media)
    if not spec.single:
        if not spec.min_items <= n <= spec.max_items:
            return [f"{spec.label} takes {spec.min_items} to {spec.max_items} media items; got {n}"]
        return []
    if n != 1:
        hint = ""
        if n > 1 and spec.suggest_carousel:
            hint = f' (use kind "carousel" for {CAROUSEL_MIN_ITEMS} to {CAROUSEL_MAX_ITEMS} items)'
        return [f"{spec.label} takes exactly 1 media item; got {n}{hint}"]
    if spec.media_type is not None and req.media[0].type != spec.media_type:
        return [spec.wrong_media]
    return []


def _check_media_items(req: PostRequest, *, allow_http: bool) -> list[str]:
    spec = KINDS[req.kind]
    problems: list[str] = []
    for i, item in enumerate(req.media):
        where = f"media[{i}]"
        if item.url is not None:
            problems += _check_url(f"{where}.url", item.url, allow_http=allow_http)
            problems += _check_url_format(where, item.url, prepare=req.prepare)
        if item.focal_point is not None:
            problems += _check_focal_point(where, item.focal_point, fit=req.fit)
        if item.key is not None:
            if not item.key.strip():
                problems.append(f"{where}.key is empty")
            elif "://" in item.key:
                problems.append(
                    f"{where}.key {item.key!r} looks like a URL; key is an object key in the media "
                    "bucket (use url for a URL)"
                )
        if item.alt_text is not None:
            if item.type != "image":
                problems.append(f"{where}.alt_text: alt text is only for images, and this item is a video")
            elif not spec.alt_text:
                problems.append(f"{where}.alt_text: Instagram does not take alt text on {spec.plural}")
            elif len(item.alt_text) > ALT_TEXT_MAX_CHARS:
                problems.append(
                    f"{where}.alt_text is {len(item.alt_text)} characters; the limit is {ALT_TEXT_MAX_CHARS}"
                )
        if item.user_tags:
            if spec.user_tags != "items":
                problems.append(f"{where}.user_tags: for {spec.label}, put user_tags at the post level")
            elif item.type == "video":
                problems.append(f"{where}.user_tags: Instagram does not allow user tags on videos inside a carousel")
            else:
                problems += _check_user_tags(f"{where}.user_tags", item.user_tags, position_required=True)
    return problems


def _check_url_format(where: str, url: str, *, prepare: bool) -> list[str]:
    """A URL Instagram would fetch as it is must be a JPEG/MP4/MOV, unless igpub prepares it (prepare: true)."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    ext = path[dot:] if dot >= 0 and "/" not in path[dot:] else ""
    if not prepare and ext in _EXTENSIONS and ext not in _INSTAGRAM_EXTENSIONS:
        return [
            f"{where}.url is a {ext[1:].upper()} file, which Instagram does not take; "
            "set prepare: true and igpub converts it"
        ]
    return []


def _check_focal_point(where: str, text: str, *, fit: str) -> list[str]:
    from igpub.media.plan import parse_focal_point

    try:
        parse_focal_point(text)
    except ValueError as exc:
        return [f"{where}.{exc}"]
    return [] if fit == "crop" else [f'{where}.focal_point is used by fit "crop" only (fit is "{fit}")']


def _check_caption(req: PostRequest) -> list[str]:
    spec = KINDS[req.kind]
    if not spec.caption:
        if req.caption:
            return [f"{spec.plural} have no caption (Instagram ignores it); remove caption or post to the feed"]
        return []
    problems: list[str] = []
    length = caption_length(req.caption)
    if length > CAPTION_MAX_CHARS:
        note = "" if length == len(req.caption) else " (emoji and other symbols outside the BMP count as 2)"
        problems.append(f"caption is {length} characters{note}; the limit is {CAPTION_MAX_CHARS}")
    hashtags = count_hashtags(req.caption)
    if hashtags > MAX_HASHTAGS:
        problems.append(f"caption has {hashtags} hashtags; Instagram allows at most {MAX_HASHTAGS}")
    mentions = count_mentions(req.caption)
    if mentions > MAX_MENTIONS:
        problems.append(f"caption has {mentions} @-mentions; Instagram allows at most {MAX_MENTIONS}")
    return problems


def _check_first_comment(req: PostRequest) -> list[str]:
    """The first comment is checked like a caption (Instagram documents no separate comment limits)."""
    text = req.first_comment or ""
    if req.kind == "story":
        if text or req.hashtags_in == "first_comment":
            return ["first_comment/hashtags_in: stories take no comments; remove them or post to the feed"]
        return []
    problems: list[str] = []
    if req.first_comment is not None and not text.strip():
        problems.append("first_comment is empty; leave it out or give the text")
    length = caption_length(text)
    if length > CAPTION_MAX_CHARS:
        problems.append(f"first_comment is {length} characters; the limit is {CAPTION_MAX_CHARS}")
    hashtags = count_hashtags(text)
    if hashtags > MAX_HASHTAGS:
        problems.append(f"first_comment has {hashtags} hashtags; Instagram allows at most {MAX_HASHTAGS}")
    mentions = count_mentions(text)
    if mentions > MAX_MENTIONS:
        problems.append(f"first_comment has {mentions} @-mentions; Instagram allows at most {MAX_MENTIONS}")
    if req.hashtags_in == "first_comment" and not req.hashtag_pool:
        problems.append('hashtags_in "first_comment" puts a pool\'s hashtags in the first comment: name hashtag_pool')
    return problems


def _check_post_fields(req: PostRequest, *, allow_http: bool) -> list[str]:
    problems: list[str] = []
    spec = KINDS[req.kind]
    if not req.account_id.strip():
        problems.append("account_id is empty")

    if req.collaborators:
        if not spec.collaborators:
            problems.append(f"collaborators: {spec.plural} cannot have collaborators")
        elif len(req.collaborators) > MAX_COLLABORATORS:
            problems.append(
                f"collaborators has {len(req.collaborators)} usernames; Instagram allows at most {MAX_COLLABORATORS}"
            )
        for i, name in enumerate(req.collaborators):
            if not _USERNAME_RE.fullmatch(name):
                hint = " (write it without the @)" if name.startswith("@") else ""
                problems.append(f"collaborators[{i}] {name!r} is not an Instagram username{hint}")

    if req.location_id is not None:
        if not spec.location:
            problems.append(f"location_id: {spec.plural} cannot have a location (stickers are not supported)")
        elif not req.location_id.strip():
            problems.append("location_id is empty")

    if not spec.reel_options:
        for name in REEL_ONLY_FIELDS:
            if getattr(req, name) is not None:
                problems.append(f"{name} is only for reels, not for {spec.label}")
    else:
        if req.cover_url is not None:
            problems += _check_url("cover_url", req.cover_url, allow_http=allow_http)
        if req.thumb_offset is not None and req.thumb_offset < 0:
            problems.append(f"thumb_offset is {req.thumb_offset}; it is in milliseconds and must be >= 0")

    if req.user_tags:
        if spec.user_tags == "items":
            problems.append(f"user_tags: on {spec.label}, put user_tags on each image item (media[i].user_tags)")
        else:
            problems += _check_user_tags("user_tags", req.user_tags, position_required=spec.tag_position_required)

    if req.client_post_id is not None and not _CLIENT_POST_ID_RE.fullmatch(req.client_post_id):
        problems.append(f"client_post_id {req.client_post_id!r} must be 1 to 64 characters from A-Z, a-z, 0-9, _ and -")

    if not _FILL_RE.fullmatch(req.fill):
        problems.append(f"fill {req.fill!r} must be blur, a colour #rrggbb, white, black or grey")
    if req.hashtag_count is not None and not 0 <= req.hashtag_count <= HASHTAG_COUNT_MAX:
        problems.append(f"hashtag_count is {req.hashtag_count}; it must be between 0 and {HASHTAG_COUNT_MAX}")
    if not spec.caption and (req.hashtag_pool is not None or req.hashtag_count):
        problems.append(f"hashtag_pool/hashtag_count: {spec.plural} have no caption, so no hashtags can be added")
    return problems


def _check_schedule(req: PostRequest, now: datetime) -> list[str]:
    return schedule_problems(req.publish_at, now)


def schedule_problems(at: datetime | None, now: datetime) -> list[str]:
    """What is wrong with ``at`` as a publish_at: no time zone, further back than ``PAST_TOLERANCE``,
    or further ahead than ``MAX_SCHEDULE_AHEAD``."""
    if at is None:
        return []
    if at.utcoffset() is None:
        return [
            f"publish_at {at.isoformat()!r} has no time zone; add one, e.g. {at.isoformat()}Z or {at.isoformat()}+02:00"
        ]
    # Up to PAST_TOLERANCE in the past means "as soon as possible" (the Wait state passes at once).
    if at < now - PAST_TOLERANCE:
        ago = now - at
        return [
            f"publish_at {at.isoformat()} is {_ago(ago)} in the past (at most {PAST_TOLERANCE.seconds // 60} minutes "
            "back is taken as now); check the date, or leave publish_at out to publish now"
        ]
    limit = now + MAX_SCHEDULE_AHEAD
    if at > limit:
        return [
            f"publish_at {at.isoformat()} is more than {MAX_SCHEDULE_AHEAD.days} days ahead "
            f"(the latest is {limit.replace(microsecond=0).isoformat()})"
        ]
    return []


def _ago(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    if delta >= timedelta(hours=2):
        return f"{int(delta.total_seconds() // 3600)} hours"
    return f"{int(delta.total_seconds() // 60)} minutes"


def validate_request(req: PostRequest, *, allow_http: bool = False, now: datetime | None = None) -> list[str]:
    """Every problem of ``req``, one readable sentence each; an empty list means it can be published.

    ``allow_http`` accepts plain-http media URLs (only the local stack serves media over http; see
    ``Settings.allow_http_media``). ``now`` (aware) is the clock for the ``publish_at`` horizon.
    """
    now = now if now is not None else datetime.now(UTC)
    return [
        *_check_media_counts(req),
        *_check_media_items(req, allow_http=allow_http),
        *_check_caption(req),
        *_check_first_comment(req),
        *_check_post_fields(req, allow_http=allow_http),
        *_check_schedule(req, now),
    ]


# ------------------------------------------------------------------------------------------ parsing


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _sentence(err: ErrorDetails) -> str:
    path = _path(err["loc"]) or "the request"
    kind = err["type"]
    if kind == "missing":
        return f"{path} is required"
    if kind == "extra_forbidden":
        return f"{path} is not a known field"
    msg = err["msg"]
    if kind.startswith(("media_", "value_error")):
        msg = msg.removeprefix("Value error, ")
    else:
        msg = msg[:1].lower() + msg[1:]
        value = err.get("input")
        if isinstance(value, str | int | float | bool) and len(repr(value)) <= 60:
            msg += f" (got {value!r})"
    return f"{path}: {msg}"


def parse_request(data: dict[str, Any], *, allow_http: bool = False, now: datetime | None = None) -> PostRequest:
    """Build a ``PostRequest`` from ``data`` (e.g. JSON) and validate it.

    Raises ``RequestInvalid`` with every problem: the shape problems from pydantic (as sentences with
    the field path, e.g. ``media[1].type: ...``) or, when the shape is right, ``validate_request``'s.
    """
    try:
        req = PostRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestInvalid([_sentence(e) for e in exc.errors(include_url=False)]) from None
    problems = validate_request(req, allow_http=allow_http, now=now)
    if problems:
        raise RequestInvalid(problems)
    return req
