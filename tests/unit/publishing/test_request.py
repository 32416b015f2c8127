"""PostRequest, validate_request and parse_request (offline)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import (
    MAX_SCHEDULE_AHEAD,
    PAST_TOLERANCE,
    MediaItem,
    PostRequest,
    count_hashtags,
    count_mentions,
    infer_media_type,
    parse_request,
    validate_request,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
JPG = "https://cdn.example.com/media/photo.jpg"
MP4 = "https://cdn.example.com/media/clip.mp4"


def img(**kw: Any) -> dict[str, Any]:
    return {"url": JPG, **kw}


def vid(**kw: Any) -> dict[str, Any]:
    return {"url": MP4, **kw}


BASE: dict[str, dict[str, Any]] = {
    "image": {"media": [img()]},
    "carousel": {"media": [img(), vid()]},
    "reel": {"media": [vid()]},
    "story": {"media": [img()]},
}


def req(kind: str, **kw: Any) -> dict[str, Any]:
    return {"account_id": "17841400000000001", "kind": kind, **BASE[kind], **kw}


def problems(data: dict[str, Any], *, allow_http: bool = False) -> list[str]:
    return validate_request(PostRequest.model_validate(data), allow_http=allow_http, now=NOW)


def at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


# (id, failing request, passing request, a fragment of the expected message)
RULES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("image needs one item", req("image", media=[img(), img()]), req("image"), "exactly 1 media item"),
    ("image needs an image", req("image", media=[vid()]), req("image", media=[img()]), "needs an image"),
    ("reel needs one item", req("reel", media=[vid(), vid()]), req("reel"), "exactly 1 media item"),
    ("reel needs a video", req("reel", media=[img()]), req("reel"), "needs a video"),
    ("story needs one item", req("story", media=[]), req("story", media=[vid()]), "exactly 1 media item"),
    ("carousel min 2", req("carousel", media=[img()]), req("carousel"), "2 to 10 media items; got 1"),
    ("carousel max 10", req("carousel", media=[img()] * 11), req("carousel", media=[img()] * 10), "got 11"),
    ("caption 2200", req("image", caption="a" * 2201), req("image", caption="a" * 2200), "2201 characters"),
    ("caption utf-16", req("image", caption="😀" * 1101), req("image", caption="😀" * 1100), "count as 2"),
    (
        "caption 30 hashtags",
        req("image", caption=" ".join(f"#t{i}" for i in range(31))),
        req("image", caption=" ".join(f"#t{i}" for i in range(30))),
        "31 hashtags",
    ),
    (
        "caption 20 mentions",
        req("reel", caption=" ".join(f"@u{i}" for i in range(21))),
        req("reel", caption=" ".join(f"@u{i}" for i in range(20))),
        "21 @-mentions",
    ),
    (
        "no caption on story",
        req("story", caption="hello"),
        req("story", caption=""),
        "stories have no caption",
    ),
    (
        "alt_text length",
        req("image", media=[img(alt_text="a" * 1001)]),
        req("image", media=[img(alt_text="a" * 1000)]),
        "1001 characters",
    ),
    (
        "alt_text not on video",
        req("carousel", media=[img(), vid(alt_text="a clip")]),
        req("carousel", media=[img(alt_text="a photo"), vid()]),
        "only for images",
    ),
    ("alt_text not on story", req("story", media=[img(alt_text="x")]), req("story"), "not take alt text"),
    (
        "collaborators max 3",
        req("image", collaborators=["a", "b", "c", "d"]),
        req("image", collaborators=["a", "b", "c"]),
        "at most 3",
    ),
    (
        "collaborators not on story",
        req("story", collaborators=["a"]),
        req("reel", collaborators=["a"]),
        "stories cannot have collaborators",
    ),
    (
        "collaborator username",
        req("carousel", collaborators=["@bob"]),
        req("carousel", collaborators=["bob"]),
        "without the @",
    ),
    (
        "location not on story",
        req("story", location_id="110"),
        req("image", location_id="110"),
        "stories cannot have a location",
    ),
    ("cover_url reels only", req("image", cover_url=JPG), req("reel", cover_url=JPG), "only for reels"),
    (
        "thumb_offset reels only",
        req("carousel", thumb_offset=0),
        req("reel", thumb_offset=0),
        "only for reels",
    ),
    ("thumb_offset >= 0", req("reel", thumb_offset=-1), req("reel", thumb_offset=1500), ">= 0"),
    (
        "share_to_feed reels only",
        req("story", share_to_feed=True),
        req("reel", share_to_feed=False),
        "only for reels",
    ),
    (
        "audio_name reels only",
        req("image", audio_name="Song"),
        req("reel", audio_name="Song"),
        "only for reels",
    ),
    (
        "trial_params reels only",
        req("carousel", trial_params={"graduation_strategy": "MANUAL"}),
        req("reel", trial_params={"graduation_strategy": "SS_PERFORMANCE"}),
        "only for reels",
    ),
    (
        "image tag needs x,y",
        req("image", user_tags=[{"username": "bob"}]),
        req("image", user_tags=[{"username": "bob", "x": 0.5, "y": 0.25}]),
        "needs x and y",
    ),
    (
        "story tag position optional",
        req("story", user_tags=[{"username": "bob", "x": 0.5}]),
        req("story", user_tags=[{"username": "bob"}]),
        "only one of x and y",
    ),
    (
        "tag x range",
        req("image", user_tags=[{"username": "bob", "x": 1.5, "y": 0.0}]),
        req("image", user_tags=[{"username": "bob", "x": 1.0, "y": 0.0}]),
        "x is 1.5",
    ),
    (
        "tag y range",
        req("story", user_tags=[{"username": "bob", "x": 0.1, "y": -0.1}]),
        req("story", user_tags=[{"username": "bob", "x": 0.1, "y": 0.1}]),
        "y is -0.1",
    ),
    (
        "tag username",
        req("reel", user_tags=[{"username": "bob smith"}]),
        req("reel", user_tags=[{"username": "bob.smith_1"}]),
        "not an Instagram username",
    ),
    (
        "carousel tags per item",
        req("carousel", user_tags=[{"username": "bob", "x": 0.1, "y": 0.1}]),
        req("carousel", media=[img(user_tags=[{"username": "bob", "x": 0.1, "y": 0.1}]), vid()]),
        "on each image item",
    ),
    (
        "no tags on carousel video",
        req("carousel", media=[img(), vid(user_tags=[{"username": "bob"}])]),
        req("carousel", media=[img(), vid()]),
        "videos inside a carousel",
    ),
    (
        "carousel item tag needs x,y",
        req("carousel", media=[img(user_tags=[{"username": "bob"}]), vid()]),
        req("carousel", media=[img(user_tags=[{"username": "bob", "x": 0, "y": 1}]), vid()]),
        "needs x and y",
    ),
    (
        "item tags only in carousels",
        req("image", media=[img(user_tags=[{"username": "b", "x": 0, "y": 0}])]),
        req("image", user_tags=[{"username": "b", "x": 0, "y": 0}]),
        "at the post level",
    ),
    (
        "https only",
        req("image", media=[img(url="http://cdn.example.com/a.jpg")]),
        req("image", media=[img(url="https://cdn.example.com/a.jpg")]),
        "must use https",
    ),
    ("no ftp", req("image", media=[img(url="ftp://cdn.example.com/a.jpg")]), req("image"), "https URL"),
    ("url needs a host", req("image", media=[img(url="https:///a.jpg")]), req("image"), "no host"),
    (
        "ascii urls",
        req("image", media=[img(url="https://cdn.example.com/café.jpg")]),
        req("image", media=[img(url="https://cdn.example.com/caf%C3%A9.jpg")]),
        "non-ASCII",
    ),
    (
        "no whitespace",
        req("image", media=[img(url="https://cdn.example.com/my photo.jpg")]),
        req("image", media=[img(url="https://cdn.example.com/my%20photo.jpg")]),
        "whitespace",
    ),
    (
        "cover_url checked",
        req("reel", cover_url="http://cdn.example.com/c.jpg"),
        req("reel", cover_url="https://cdn.example.com/c.jpg"),
        "cover_url must use https",
    ),
    (
        "key is not a url",
        req("image", media=[{"key": "s3://bucket/a.jpg"}]),
        req("image", media=[{"key": "uploads/a.jpg"}]),
        "looks like a URL",
    ),
    (
        "empty key",
        req("image", media=[{"key": " ", "type": "image"}]),
        req("image", media=[{"key": "a", "type": "image"}]),
        "key is empty",
    ),
    (
        "publish_at needs a zone",
        req("image", publish_at="2026-03-02T10:00:00"),
        req("image", publish_at="2026-03-02T10:00:00+01:00"),
        "no time zone",
    ),
    (
        "publish_at horizon",
        req("image", publish_at=at(MAX_SCHEDULE_AHEAD + timedelta(minutes=1))),
        req("image", publish_at=at(MAX_SCHEDULE_AHEAD)),
        "75 days ahead",
    ),
    (
        "client_post_id charset",
        req("image", client_post_id="post 1"),
        req("image", client_post_id="Post_1-a"),
        "client_post_id",
    ),
    (
        "client_post_id length",
        req("image", client_post_id="a" * 65),
        req("image", client_post_id="a" * 64),
        "1 to 64",
    ),
    ("client_post_id empty", req("image", client_post_id=""), req("image", client_post_id="x"), "1 to 64"),
    (
        "hashtag_count range",
        req("image", hashtag_count=31),
        req("image", hashtag_count=30),
        "between 0 and 30",
    ),
    ("hashtag_count >= 0", req("image", hashtag_count=-1), req("image", hashtag_count=0), "between 0 and 30"),
    (
        "no hashtags on stories",
        req("story", hashtag_pool="travel"),
        req("reel", hashtag_pool="travel"),
        "stories have no caption",
    ),
    ("account_id", req("image", account_id=""), req("image"), "account_id is empty"),
]


@pytest.mark.parametrize(("bad", "good", "fragment"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule(bad: dict[str, Any], good: dict[str, Any], fragment: str) -> None:
    found = problems(bad)
    assert len(found) == 1, found
    assert fragment in found[0]
    assert problems(good) == []


@pytest.mark.parametrize("kind", ["image", "carousel", "reel", "story"])
def test_minimal_requests_are_valid(kind: str) -> None:
    assert problems(req(kind)) == []


def test_http_allowed_for_the_local_stack() -> None:
    data = req("reel", media=[vid(url="http://127.0.0.1:9000/clip.mp4")], cover_url="http://127.0.0.1/c.jpg")
    assert len(problems(data)) == 2
    assert problems(data, allow_http=True) == []
    assert "https or http URL" in problems(req("image", media=[img(url="file:///a.jpg")]), allow_http=True)[0]


def test_publish_a_little_in_the_past_means_now() -> None:
    assert problems(req("image", publish_at=at(-PAST_TOLERANCE))) == []
    assert problems(req("image", publish_at=at(-timedelta(minutes=1)))) == []


@pytest.mark.parametrize(("back", "says"), [
    (PAST_TOLERANCE + timedelta(seconds=1), "5 minutes in the past"),
    (timedelta(hours=5), "5 hours in the past"),
    (timedelta(days=21), "21 days in the past"),
])
def test_publish_further_in_the_past_is_refused(back: timedelta, says: str) -> None:
    found = problems(req("image", publish_at=at(-back)))
    assert len(found) == 1 and says in found[0] and "at most 5 minutes back" in found[0]


def test_plain_http_is_for_loopback_hosts_only() -> None:
    for url in ("http://127.0.0.1:9000/a.jpg", "http://localhost/a.jpg", "http://[::1]:8080/a.jpg"):
        assert problems(req("image", media=[img(url=url)]), allow_http=True) == [], url
    for url in ("http://cdn.example.com/a.jpg", "http://10.0.0.5/a.jpg", "http://127.0.0.1.example.com/a.jpg"):
        found = problems(req("image", media=[img(url=url)]), allow_http=True)
        assert len(found) == 1 and "must use https" in found[0] and "127.0.0.1" in found[0], url


def test_http_refused_by_default() -> None:
    data = req("image", media=[img(url="http://127.0.0.1:9000/a.jpg")])
    assert len(validate_request(PostRequest.model_validate(data), now=NOW)) == 1
    with pytest.raises(RequestInvalid) as info:
        parse_request(data, now=NOW)
    assert len(info.value.problems) == 1 and "https" in info.value.problems[0]
    assert parse_request(data, allow_http=True, now=NOW).media[0].url == "http://127.0.0.1:9000/a.jpg"


def test_many_problems_at_once() -> None:
    data = req(
        "story",
        media=[img(url="http://x.example/é.jpg", alt_text="x")],
        caption="#hi",
        collaborators=["a"],
        location_id="1",
        thumb_offset=5,
        publish_at="2026-03-02T10:00:00",
        client_post_id="no spaces please",
    )
    found = problems(data)
    assert len(found) == 9, found
    for fragment in (
        "non-ASCII",
        "must use https",
        "alt text",
        "no caption",
        "collaborators",
        "location",
        "thumb_offset",
        "time zone",
        "client_post_id",
    ):
        assert any(fragment in p for p in found), fragment
    with pytest.raises(RequestInvalid) as exc:
        parse_request(data, now=NOW)
    assert exc.value.problems == found
    assert "9 problems" in str(exc.value)


def test_parse_request_shape_errors_are_sentences_with_paths() -> None:
    data = {
        "kind": "video",
        "media": [
            {"url": "https://x.example/a.txt"},
            {"url": JPG, "key": "a.jpg"},
            {},
            {"url": JPG, "colour": "red", "user_tags": [{"username": "bob", "x": "left"}]},
            {"url": MP4, "type": "gif"},
        ],
        "publish_at": "tomorrow",
        "access_token": "EAAB...",
    }
    with pytest.raises(RequestInvalid) as exc:
        parse_request(data)
    msgs = exc.value.problems
    expected = [
        "account_id is required",
        "kind: input should be 'image', 'carousel', 'reel' or 'story' (got 'video')",
        "media[0]: cannot tell whether 'https://x.example/a.txt' is an image or a video",
        "media[1]: give exactly one of url",
        "media[2]: give exactly one of url",
        "media[3].user_tags[0].x: input should be a valid number",
        "media[3].colour is not a known field",
        "media[4].type: input should be 'image' or 'video' (got 'gif')",
        "publish_at: input should be a valid datetime",
        "access_token is not a known field",
    ]
    assert len(msgs) == len(expected), msgs
    for fragment in expected:
        assert any(m.startswith(fragment) for m in msgs), (fragment, msgs)


def test_parse_request_not_a_dict() -> None:
    with pytest.raises(RequestInvalid) as exc:
        parse_request([1, 2])  # type: ignore[arg-type]
    assert exc.value.problems[0].startswith("the request: ")


def test_tokens_cannot_ride_along() -> None:
    assert "token" not in " ".join(PostRequest.model_fields)
    with pytest.raises(RequestInvalid, match="access_token is not a known field"):
        parse_request({**req("image"), "access_token": "x"})


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://x.example/a.JPG", "image"),
        ("https://x.example/a.jpeg?X-Amz-Signature=abc.mp4", "image"),
        ("uploads/clip.MOV", "video"),
        ("https://x.example/v.mp4#t=3", "video"),
        ("uploads/photo.png", "image"),  # igpub.media converts it
        ("uploads/IMG_0001.HEIC", "image"),
        ("https://x.example/clip.webm", "video"),
        ("uploads/notes.txt", None),
        ("https://x.example/noext", None),
        ("uploads.d/file", None),
        (".jpg", "image"),  # a name that is only an extension is still that kind
        ("a.jpg/b", None),
    ],
)
def test_infer_media_type(location: str, expected: str | None) -> None:
    assert infer_media_type(location) == expected


def test_explicit_type_wins_over_extension() -> None:
    item = MediaItem.model_validate({"url": "https://x.example/render?id=1", "type": "video"})
    assert item.type == "video"
    assert MediaItem.model_validate({"key": "a/b.jpeg"}).type == "image"


def test_publish_at_is_stored_as_aware_utc() -> None:
    r = parse_request(req("image", publish_at="2026-03-02T10:00:00+02:00"), now=NOW)
    assert r.publish_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert r.publish_at is not None and r.publish_at.tzinfo is UTC


def test_json_round_trip() -> None:
    data = req(
        "carousel",
        media=[
            img(alt_text="a dog", user_tags=[{"username": "bob", "x": 0.5, "y": 0.5}]),
            {"key": "uploads/clip.mov"},
        ],
        caption="Hello #dogs @bob",
        location_id="110",
        collaborators=["alice"],
        publish_at="2026-03-10T09:30:00-05:00",
        client_post_id="post-2026-03-10",
        hashtag_pool="dogs",
        hashtag_count=10,
    )
    first = parse_request(data, now=NOW)
    dumped = first.model_dump(mode="json")
    assert dumped["publish_at"] == "2026-03-10T14:30:00Z"
    assert dumped["media"][1]["type"] == "video"
    again = parse_request(json.loads(json.dumps(dumped)), now=NOW)
    assert again == first
    assert again.model_dump(mode="json") == dumped


def test_reel_round_trip_with_all_reel_fields() -> None:
    data = req(
        "reel",
        caption="new reel",
        cover_url="https://cdn.example.com/cover.jpg",
        thumb_offset=2500,
        share_to_feed=True,
        audio_name="Original audio",
        trial_params={"graduation_strategy": "MANUAL"},
        user_tags=[{"username": "bob"}],
        collaborators=["a", "b", "c"],
    )
    r = parse_request(data, now=NOW)
    assert PostRequest.model_validate_json(r.model_dump_json()) == r


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("#a #b #c", 3),
        ("#a #a", 2),  # occurrences, duplicates included
        ("#café #東京 #2024 #snake_case", 4),
        ("no # tag, C#", 0),
        ("##double", 1),
        ("end.#tag", 1),
    ],
)
def test_count_hashtags(text: str, expected: int) -> None:
    assert count_hashtags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("@bob and @alice.smith", 2),
        ("@bob @bob", 2),
        ("mail me@example.com", 0),
        ("(@bob)", 1),
        ("@ alone", 0),
    ],
)
def test_count_mentions(text: str, expected: int) -> None:
    assert count_mentions(text) == expected
