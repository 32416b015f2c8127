"""Content publishing on the fake: containers, parameter rules, media checks, processing, quota."""

from __future__ import annotations

import json

import httpx
import pytest
from fake_helpers import IG, error_of


def _code(resp: httpx.Response) -> tuple[int, int | None]:
    err = error_of(resp)
    return err["code"], err.get("error_subcode")


# ---------------------------------------------------------------------------------------------
# Container kinds


def test_single_image_container_is_finished_at_once_and_publishes(user: IG) -> None:
    cid = user.image(caption="Hello #igpub @friend")
    assert user.status(cid) == {
        "status_code": "FINISHED",
        "status": "Finished: Media has been uploaded and it is ready to be published.",
        "id": cid,
    }
    published = user.publish(cid)
    assert published.status_code == 200
    media_id = published.json()["id"]
    assert user.status(cid)["status_code"] == "PUBLISHED"
    media = user.get(
        f"/{media_id}",
        fields="id,permalink,media_type,media_product_type,timestamp,caption,shortcode,username,owner",
    ).json()
    assert media["media_type"] == "IMAGE" and media["media_product_type"] == "FEED"
    assert media["permalink"] == f"https://www.instagram.com/p/{media['shortcode']}/"
    assert media["caption"] == "Hello #igpub @friend"
    assert media["timestamp"].endswith("+0000")
    assert media["owner"] == {"id": user.user_id}
    fake_media = user.ctl("GET", "/media", params={"user_id": user.user_id})["data"]
    assert [(m["id"], m["container_id"]) for m in fake_media] == [(media_id, cid)]


def test_reels_container_processing_follows_the_fake_clock(user: IG) -> None:
    cid = user.create_ok(media_type="REELS", video_url=user.cdn("video.mp4?seconds=12&mb=1"),
                         share_to_feed="true", thumb_offset="5000")
    assert user.status(cid)["status_code"] == "IN_PROGRESS"
    assert _code(user.publish(cid)) == (9007, 2207027)
    assert error_of(user.publish(cid))["message"] == "Media ID is not available"
    user.advance(29)
    assert user.status(cid)["status_code"] == "IN_PROGRESS"
    user.advance(2)
    assert user.status(cid)["status_code"] == "FINISHED"
    media_id = user.publish(cid).json()["id"]
    media = user.get(f"/{media_id}", fields="permalink,media_type,media_product_type,is_shared_to_feed").json()
    assert media["media_type"] == "VIDEO" and media["media_product_type"] == "REELS"
    assert media["permalink"].startswith("https://www.instagram.com/reel/")
    assert media["is_shared_to_feed"] is True


def test_stories_image_and_video(user: IG) -> None:
    img = user.create_ok(media_type="STORIES", image_url=user.cdn("image.jpg?w=1080&h=1920"))
    assert user.status(img)["status_code"] == "FINISHED"  # 9:16 is fine for stories
    vid = user.create_ok(media_type="STORIES", video_url=user.cdn("video.mp4?seconds=8"))
    assert user.status(vid)["status_code"] == "IN_PROGRESS"
    user.advance(10)
    assert user.status(vid)["status_code"] == "FINISHED"
    m1 = user.publish(img).json()["id"]
    user.publish(vid)
    got = user.get(f"/{m1}", fields="media_product_type,permalink").json()
    assert got["media_product_type"] == "STORY"
    assert len(user.get(f"/{user.user_id}/stories").json()["data"]) == 2
    assert user.get(f"/{user.user_id}/media").json()["data"] == []  # stories are not in /media


def test_carousel_parent_finishes_when_all_children_finish(user: IG) -> None:
    a = user.image(is_carousel_item="true", alt_text="first")
    b = user.create_ok(media_type="VIDEO", is_carousel_item="true", video_url=user.cdn("video.mp4?seconds=6"))
    parent = user.create_ok(media_type="CAROUSEL", children=f"{a},{b}", caption="album")
    assert user.status(a)["status_code"] == "FINISHED"
    assert user.status(parent)["status_code"] == "IN_PROGRESS"
    assert _code(user.publish(parent)) == (9007, 2207027)
    user.advance(5)
    assert user.status(parent)["status_code"] == "FINISHED"
    media_id = user.publish(parent).json()["id"]
    album = user.get(f"/{media_id}", fields="media_type,permalink,children{id,media_type,permalink}").json()
    assert album["media_type"] == "CAROUSEL_ALBUM"
    assert album["permalink"].startswith("https://www.instagram.com/p/")
    kids = album["children"]["data"]
    assert [k["media_type"] for k in kids] == ["IMAGE", "VIDEO"]
    assert all("permalink" not in k for k in kids)
    children = user.get(f"/{media_id}/children", fields="id,media_type").json()["data"]
    assert [c["id"] for c in children] == [k["id"] for k in kids]
    # one post against the quota
    quota = user.get(f"/{user.user_id}/content_publishing_limit", fields="quota_usage").json()
    assert quota == {"data": [{"quota_usage": 1}]}


def test_carousel_children_as_json_array_and_json_body(user: IG) -> None:
    kids = [user.image(is_carousel_item="true") for _ in range(3)]
    resp = user.http.post(
        f"/graph.instagram.com/v25.0/{user.user_id}/media",
        json={"media_type": "CAROUSEL", "children": kids},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert resp.status_code == 200, resp.text
    parent = resp.json()["id"]
    assert user.ctl("GET", f"/containers/{parent}")["children"] == kids
    as_string = user.create_ok(media_type="CAROUSEL", children=json.dumps(kids[:2]))
    assert user.status(as_string)["status_code"] == "FINISHED"


def test_carousel_child_error_makes_parent_error(user: IG) -> None:
    user.config(image_checks="async")
    good = user.image(is_carousel_item="true")
    bad = user.create_ok(is_carousel_item="true", image_url=user.cdn("missing.jpg"))
    parent = user.create_ok(media_type="CAROUSEL", children=f"{good},{bad}")
    assert user.status(parent)["status_code"] == "ERROR"


def test_publishing_a_carousel_item_alone_fails(user: IG) -> None:
    item = user.image(is_carousel_item="true")
    err = error_of(user.publish(item))
    assert (err["code"], err["error_subcode"]) == (100, 2207089)
    assert err["error_user_title"] == "Carousel item cannot be published standalone"


# ---------------------------------------------------------------------------------------------
# Parameter rules


def test_standalone_video_and_unknown_media_type(user: IG) -> None:
    assert _code(user.create(media_type="VIDEO", video_url=user.cdn("video.mp4"))) == (100, 2207023)
    assert _code(user.create(media_type="GIF", image_url=user.cdn("image.jpg"))) == (100, 2207023)
    assert _code(user.create(media_type="REELS", is_carousel_item="true",
                             video_url=user.cdn("video.mp4")))[0] == 100


def test_missing_urls(user: IG) -> None:
    assert "image_url" in error_of(user.create())["message"]
    assert "video_url" in error_of(user.create(media_type="REELS"))["message"]
    assert _code(user.create(media_type="STORIES"))[0] == 100
    both = user.create(media_type="STORIES", image_url=user.cdn("image.jpg"), video_url=user.cdn("video.mp4"))
    assert _code(both)[0] == 100


@pytest.mark.parametrize("count", [1, 11])
def test_carousel_size(user: IG, count: int) -> None:
    kids = [user.image(is_carousel_item="true") for _ in range(count)]
    err = error_of(user.create(media_type="CAROUSEL", children=",".join(kids)))
    assert (err["code"], err["error_subcode"]) == (100, 2207028)


def test_carousel_children_must_be_own_carousel_items(user: IG) -> None:
    plain = user.image()
    item = user.image(is_carousel_item="true")
    assert _code(user.create(media_type="CAROUSEL", children=f"{plain},{item}"))[0] == 100
    assert _code(user.create(media_type="CAROUSEL", children=f"{item},999"))[0] == 24
    other = IG(user.fake).login("someone_else")
    foreign = other.image(is_carousel_item="true")
    assert _code(user.create(media_type="CAROUSEL", children=f"{item},{foreign}")) == (24, 2207006)


def test_caption_limits(user: IG) -> None:
    img = user.cdn("image.jpg")
    assert _code(user.create(image_url=img, caption="x" * 2201)) == (36004, 2207010)
    assert user.create(image_url=img, caption="x" * 2200).status_code == 200
    tags = " ".join(f"#t{i}" for i in range(31))
    assert _code(user.create(image_url=img, caption=tags)) == (36004, 2207010)
    assert user.create(image_url=img, caption=" ".join(f"#t{i}" for i in range(30))).status_code == 200
    mentions = " ".join(f"@u{i}" for i in range(21))
    assert _code(user.create(image_url=img, caption=mentions)) == (100, 2207040)
    assert user.create(image_url=img, caption=" ".join(f"@u{i}" for i in range(20))).status_code == 200


def test_caption_on_carousel_item_is_refused(user: IG) -> None:
    resp = user.create(image_url=user.cdn("image.jpg"), is_carousel_item="true", caption="no")
    assert _code(resp)[0] == 100


def test_alt_text_rules(user: IG) -> None:
    assert _code(user.create(media_type="REELS", video_url=user.cdn("video.mp4"), alt_text="a"))[0] == 100
    assert _code(user.create(media_type="STORIES", image_url=user.cdn("image.jpg"), alt_text="a"))[0] == 100
    assert _code(user.create(image_url=user.cdn("image.jpg"), alt_text="a" * 1001))[0] == 100
    assert user.create(image_url=user.cdn("image.jpg"), alt_text="a cat").status_code == 200


def test_collaborators_rules(user: IG) -> None:
    img = user.cdn("image.jpg")
    assert _code(user.create(image_url=img, collaborators="a,b,c,d"))[0] == 100
    assert user.create(image_url=img, collaborators='["a","b","c"]').status_code == 200
    assert _code(user.create(media_type="STORIES", image_url=img, collaborators="a"))[0] == 100


def test_user_tags_rules(user: IG) -> None:
    img = user.cdn("image.jpg")
    ok = json.dumps([{"username": "bob", "x": 0.5, "y": 1.0}])
    assert user.create(image_url=img, user_tags=ok).status_code == 200
    out = json.dumps([{"username": "bob", "x": 1.2, "y": 0.5}])
    assert _code(user.create(image_url=img, user_tags=out))[0] == 100
    no_xy = json.dumps([{"username": "bob"}])
    assert _code(user.create(image_url=img, user_tags=no_xy))[0] == 100
    assert user.create(media_type="STORIES", image_url=img, user_tags=no_xy).status_code == 200
    assert _code(user.create(image_url=img, user_tags="not json"))[0] == 100
    vid = user.cdn("video.mp4")
    assert _code(user.create(media_type="VIDEO", is_carousel_item="true", video_url=vid, user_tags=ok))[0] == 100


def test_location_id_rules(user: IG) -> None:
    img = user.cdn("image.jpg")
    assert user.create(image_url=img, location_id="123456").status_code == 200
    assert _code(user.create(image_url=img, is_carousel_item="true", location_id="123"))[0] == 100
    bad = error_of(user.create(image_url=img, location_id="paris"))
    assert bad["message"] == "INSTAGRAM_PLATFORM_API__INVALID_LOCATION_ID"
    assert _code(user.create(image_url=img, is_carousel_item="true", is_ai_generated="true"))[0] == 100


def test_thumb_offset(user: IG) -> None:
    vid = user.cdn("video.mp4?seconds=10")
    assert _code(user.create(media_type="REELS", video_url=vid, thumb_offset="10000")) == (1, 2207057)
    assert _code(user.create(media_type="REELS", video_url=vid, thumb_offset="-1")) == (1, 2207057)
    assert user.create(media_type="REELS", video_url=vid, thumb_offset="9999").status_code == 200
    assert _code(user.create(media_type="REELS", video_url=vid, thumb_offset="abc"))[0] == 100


def test_token_user_must_own_the_account(user: IG) -> None:
    other = IG(user.fake).login("other_owner")
    resp = user.post(f"/{other.user_id}/media", image_url=user.cdn("image.jpg"))
    assert _code(resp) == (100, 33)
    assert _code(user.post(f"/{other.user_id}/media_publish", creation_id="1")) == (100, 33)
    cid = other.image()
    assert _code(user.get(f"/{cid}", fields="status_code")) == (100, 33)


def test_me_alias_on_edges(user: IG) -> None:
    resp = user.post("/me/media", image_url=user.cdn("image.jpg"))
    assert resp.status_code == 200


# ---------------------------------------------------------------------------------------------
# Media checks


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("missing.jpg", (9004, 2207052)),
        ("image.jpg?status=403", (9004, 2207052)),
        ("image.png?w=1080&h=1080", (36001, 2207005)),
        ("big.jpg?mb=9", (36000, 2207004)),
        ("image.jpg?w=1000&h=1300", (36003, 2207009)),
        ("image.jpg?w=2000&h=1000", (36003, 2207009)),
    ],
)
def test_image_checks_sync(user: IG, path: str, expected: tuple[int, int]) -> None:
    resp = user.create(image_url=user.cdn(path))
    assert resp.status_code == 400
    assert _code(resp) == expected


def test_image_fetch_error_messages(user: IG) -> None:
    err = error_of(user.create(image_url=user.cdn("missing.jpg")))
    assert err["message"] == "Only photo or video can be accepted as media type."
    assert user.cdn("missing.jpg") in err["error_user_msg"]
    assert _code(user.create(image_url="http://127.0.0.1:1/nothing.jpg")) == (9004, 2207052)
    assert _code(user.create(image_url="ftp://example/x.jpg")) == (9004, 2207052)


def test_image_edge_ratios_accepted(user: IG) -> None:
    assert user.create(image_url=user.cdn("image.jpg?w=1080&h=1350")).status_code == 200
    assert user.create(image_url=user.cdn("image.jpg?w=1910&h=1000")).status_code == 200
    assert user.create(image_url=user.cdn("big.jpg?mb=7.9")).status_code == 200


def test_image_checks_async(user: IG) -> None:
    user.config(image_checks="async")
    cid = user.create_ok(image_url=user.cdn("missing.jpg"))
    status = user.status(cid)
    assert status["status_code"] == "ERROR"
    assert status["status"] == "Error: Media download has failed. (2207052)"
    assert _code(user.publish(cid)) == (9007, 2207027)
    png = user.create_ok(image_url=user.cdn("image.png"))
    assert "2207005" in user.status(png)["status"]


def test_video_checks_are_async(user: IG) -> None:
    missing = user.create_ok(media_type="REELS", video_url=user.cdn("missing.mp4"))
    assert user.status(missing) == {
        "status_code": "ERROR", "status": "Error: Media download has failed. (2207052)", "id": missing,
    }
    not_video = user.create_ok(media_type="REELS", video_url=user.cdn("image.jpg"))
    assert user.status(not_video)["status_code"] == "ERROR"
    assert "2207026" in user.status(not_video)["status"]
    mov = user.create_ok(media_type="REELS", video_url=user.cdn("video.mov?seconds=5"))
    user.advance(30)
    assert user.status(mov)["status_code"] == "FINISHED"


def test_video_size_limits(user: IG) -> None:
    user.config(reels_max_bytes=2 * 1024 * 1024, story_video_max_bytes=1024 * 1024)
    big = user.create_ok(media_type="REELS", video_url=user.cdn("video.mp4?mb=3"))
    assert user.status(big)["status_code"] == "ERROR"
    ok = user.create_ok(media_type="REELS", video_url=user.cdn("video.mp4?mb=1.5"))
    assert user.ctl("GET", f"/containers/{ok}")["error"] is None
    story = user.create_ok(media_type="STORIES", video_url=user.cdn("video.mp4?mb=1.5"))
    assert user.status(story)["status_code"] == "ERROR"


def test_fetch_timeout(user: IG) -> None:
    user.config(fetch_timeout_seconds=0.3)
    user.fake.faults({"match": "GET /image", "host": "cdn", "kind": "timeout", "seconds": 1})
    assert _code(user.create(image_url=user.cdn("image.jpg"))) == (-2, 2207003)


# ---------------------------------------------------------------------------------------------
# Lifecycle, quota, limits


def test_container_expires_after_24_hours(user: IG) -> None:
    cid = user.image()
    user.advance(86_399)
    assert user.status(cid)["status_code"] == "FINISHED"
    user.advance(2)
    assert user.status(cid)["status_code"] == "EXPIRED"
    assert _code(user.publish(cid)) == (24, 2207008)


def test_publish_unknown_container(user: IG) -> None:
    assert _code(user.publish("17889000000000000")) == (24, 2207008)
    assert "creation_id" in error_of(user.post(f"/{user.user_id}/media_publish"))["message"]


def test_quota_full_then_freed_by_clock(user: IG) -> None:
    user.config(quota_total=3)
    for _ in range(3):
        assert user.publish(user.image()).status_code == 200
        user.advance(600)
    limit = user.get(f"/{user.user_id}/content_publishing_limit", fields="quota_usage,config").json()
    assert limit == {"data": [{"quota_usage": 3, "config": {"quota_total": 3, "quota_duration": 86400}}]}
    blocked = user.image()
    err = error_of(user.publish(blocked))
    assert (err["code"], err["error_subcode"]) == (9, 2207042)
    user.advance(86_400 - 1800 + 1)  # the first publish leaves the window
    assert user.publish(blocked).status_code == 200
    now = user.ctl("GET", "/clock")["now"]
    since = user.get(f"/{user.user_id}/content_publishing_limit", since=str(int(now) - 10)).json()
    assert since["data"][0]["quota_usage"] == 1


def test_container_limit(user: IG) -> None:
    user.config(container_limit=5)
    for _ in range(5):
        user.image()
    err = error_of(user.create(image_url=user.cdn("image.jpg")))
    assert err["code"] == 9
    user.advance(86_401)
    assert user.create(image_url=user.cdn("image.jpg")).status_code == 200


def test_container_limit_default_is_400(user: IG) -> None:
    user.config(container_limit_error={"code": 4, "subcode": 2207051, "message": "limit"})
    app = user.fake.app
    with app.store.lock:
        from fakeig.state import Container

        now = app.now()
        for i in range(400):
            cid = f"1788900000{i:07d}"
            app.store.containers[cid] = Container(
                id=cid, user_id=user.user_id, media_type="IMAGE", is_carousel_item=False,
                created_at=now, ready_at=now, params={},
            )
    assert _code(user.create(image_url=user.cdn("image.jpg"))) == (4, 2207051)


def test_republish_duplicate_mode_creates_second_media(user: IG) -> None:
    cid = user.image()
    first = user.publish(cid).json()["id"]
    second = user.publish(cid).json()["id"]
    assert first != second
    media = user.ctl("GET", "/media", params={"user_id": user.user_id})["data"]
    assert [m["container_id"] for m in media] == [cid, cid]
    assert user.ctl("GET", f"/containers/{cid}")["media_ids"] == [first, second]


def test_republish_error_mode(user: IG) -> None:
    user.config(republish_mode="error")
    cid = user.image()
    assert user.publish(cid).status_code == 200
    assert _code(user.publish(cid)) == (9007, 2207027)
    assert len(user.ctl("GET", "/media")["data"]) == 1


def test_media_list_paging_and_node_reads(user: IG) -> None:
    ids = []
    for i in range(3):
        ids.append(user.publish(user.image(caption=f"post {i}")).json()["id"])
        user.advance(1)
    page1 = user.get(f"/{user.user_id}/media", fields="id,caption", limit="2").json()
    assert [m["id"] for m in page1["data"]] == ids[::-1][:2]
    assert "next" in page1["paging"]
    page2 = user.get(f"/{user.user_id}/media", limit="2", after=page1["paging"]["cursors"]["after"]).json()
    assert [m["id"] for m in page2["data"]] == [ids[0]]
    node = user.get(f"/{user.user_id}", fields="username,media_count").json()
    assert node == {"username": "igpub_demo", "media_count": 3, "id": user.user_id}
    assert user.post(f"/{ids[0]}", comment_enabled="false").json() == {"success": True}
    assert user.get(f"/{ids[0]}", fields="is_comment_enabled").json()["is_comment_enabled"] is False
    assert _code(user.get("/12345"))[0] == 100
    assert _code(user.get(f"/{ids[0]}/nope"))[0] == 100
    # DELETE is Facebook Login only
    assert _code(user.http.delete(f"/graph.instagram.com/v25.0/{ids[0]}",
                                  params={"access_token": user.token}))[0] == 100


def test_subscribed_apps(user: IG) -> None:
    assert user.post(f"/{user.user_id}/subscribed_apps", subscribed_fields="comments,messages").json() == {
        "success": True
    }
    got = user.get(f"/{user.user_id}/subscribed_apps").json()
    assert got["data"][0]["subscribed_fields"] == ["comments", "messages"]


def test_resumable_upload(user: IG) -> None:
    resp = user.create(media_type="REELS", upload_type="resumable")
    assert resp.status_code == 200
    body = resp.json()
    cid = body["id"]
    assert body["uri"].endswith(f"/rupload.facebook.com/ig-api-upload/v25.0/{cid}")
    assert user.status(cid)["status_code"] == "IN_PROGRESS"
    upload_path = body["uri"].split(user.base, 1)[1]
    denied = user.http.post(upload_path, content=b"x", headers={"Authorization": "OAuth nope"})
    assert denied.status_code == 401 and "debug_info" in denied.json()
    video = user.http.get("/cdn/video.mp4?seconds=5&mb=0.5").content
    up = user.http.post(
        upload_path, content=video,
        headers={"Authorization": f"OAuth {user.token}", "offset": "0", "file_size": str(len(video))},
    )
    assert up.json() == {"success": True, "message": "Upload successful."}
    user.advance(30)
    assert user.status(cid)["status_code"] == "FINISHED"
    by_url = user.create_ok(media_type="REELS", upload_type="resumable")
    user.http.post(
        f"/rupload.facebook.com/ig-api-upload/v25.0/{by_url}",
        headers={"Authorization": f"OAuth {user.token}", "file_url": user.cdn("missing.mp4")},
    )
    assert user.status(by_url)["status_code"] == "ERROR"


@pytest.mark.parametrize(
    ("media_type", "seconds", "extra", "finished"),
    [
        ("REELS", 1, {}, False), ("REELS", 3, {}, True), ("REELS", 900, {}, True), ("REELS", 901, {}, False),
        ("STORIES", 2, {}, False), ("STORIES", 60, {}, True), ("STORIES", 90, {}, False),
        ("VIDEO", 1, {"is_carousel_item": "true"}, False), ("VIDEO", 30, {"is_carousel_item": "true"}, True),
        ("VIDEO", 1000, {"is_carousel_item": "true"}, False),
    ],
)
def test_video_duration_out_of_spec_ends_in_error(
    user: IG, media_type: str, seconds: float, extra: dict[str, str], finished: bool
) -> None:
    cid = user.create_ok(media_type=media_type, video_url=user.cdn(f"video.mp4?seconds={seconds}"), **extra)
    user.advance(60)
    status = user.status(cid)
    assert status["status_code"] == ("FINISHED" if finished else "ERROR")
    if not finished:
        assert f"is {seconds:.1f} seconds long" in status["status"]
        if media_type != "VIDEO":  # a carousel item cannot be published on its own anyway
            assert _code(user.publish(cid)) == (9007, 2207027)


def test_video_duration_ranges_are_configurable(user: IG) -> None:
    user.config(video_seconds={"REELS": [1, 5], "STORIES": [1, 1000]})
    short = user.create_ok(media_type="REELS", video_url=user.cdn("video.mp4?seconds=2"))
    long = user.create_ok(media_type="REELS", video_url=user.cdn("video.mp4?seconds=6"))
    story = user.create_ok(media_type="STORIES", video_url=user.cdn("video.mp4?seconds=600"))
    user.advance(60)
    assert [user.status(c)["status_code"] for c in (short, long, story)] == ["FINISHED", "ERROR", "FINISHED"]


def test_video_duration_checked_on_resumable_upload(user: IG) -> None:
    cid = user.create_ok(media_type="REELS", upload_type="resumable")
    video = user.http.get("/cdn/video.mp4?seconds=1").content
    user.http.post(
        f"/rupload.facebook.com/ig-api-upload/v25.0/{cid}", content=video,
        headers={"Authorization": f"OAuth {user.token}", "offset": "0", "file_size": str(len(video))},
    )
    user.advance(60)
    assert user.status(cid)["status_code"] == "ERROR"


def test_duration_problem_unit() -> None:
    from fakeig.cdn import video_header
    from fakeig.media_checks import Fetched, check_video

    ok = video_header(10)
    assert check_video(Fetched(ok, len(ok)), 10**9, (3, 60)) is None
    assert check_video(Fetched(ok, len(ok)), 10**9, None) is None
    bad = check_video(Fetched(ok, len(ok)), 10**9, (3, 5))
    assert bad is not None and bad.status_text.startswith("Error: The video is 10.0 seconds long")
    unknown = b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00"  # no moov: duration unknown, not refused
    assert check_video(Fetched(unknown, len(unknown)), 10**9, (3, 5)) is None
