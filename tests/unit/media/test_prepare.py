"""igpub.media.prepare offline: the PrepareMedia task over an in-memory bucket and post table."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from igpub.config import Settings
from igpub.media import plan
from igpub.media.fetch import Fetched
from igpub.media.prepare import MediaDeps, plan_post, prepare_post
from igpub.publishing.request import PostRequest
from igpub.repositories.media import ObjectPeek
from igpub.repositories.posts import NotOwner, PostRecord


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 30)).save(buf, "JPEG")
    return buf.getvalue()


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (10, 120, 30, 128)).save(buf, "PNG")
    return buf.getvalue()


class Bucket:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = dict(objects)
        self.puts: list[str] = []

    def peek(self, key: str) -> ObjectPeek | None:
        data = self.objects.get(key)
        return None if data is None else ObjectPeek(key=key, size=len(data), head=data[: 128 * 1024])

    def read(self, key: str) -> bytes:
        return self.objects[key]

    def download(self, key: str, path: str) -> None:
        Path(path).write_bytes(self.objects[key])

    def upload(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data
        self.puts.append(key)

    def upload_file(self, key: str, path: str, content_type: str) -> None:
        self.upload(key, Path(path).read_bytes(), content_type)


class Posts:
    def __init__(self, rec: PostRecord) -> None:
        self.rec = rec

    def get(self, post_id: str) -> PostRecord | None:
        return self.rec if post_id == self.rec.post_id else None

    def update_owned(self, post_id: str, now: float, execution_id: str, **fields: Any) -> PostRecord:
        if execution_id != self.rec.execution_id:
            raise NotOwner(post_id, execution_id)
        self.rec = self.rec.model_copy(update=fields)
        return self.rec


def deps(request: dict[str, Any], objects: dict[str, bytes], fetch: Any = None) -> tuple[MediaDeps, Bucket, Posts]:
    rec = PostRecord(post_id="p1", account_id="a1", kind=request["kind"], request=json.dumps(request),
                     status="creating", execution_id="e1", created_at="t", updated_at="t", started_at=0)
    bucket, posts = Bucket(objects), Posts(rec)
    d = MediaDeps(settings=Settings(allow_http_media=False), posts=posts, media=bucket, clock=lambda: 0.0,  # type: ignore[arg-type]
                  fetch=fetch)
    return d, bucket, posts


def test_png_key_gets_a_rendition_next_to_it_and_the_request_names_it() -> None:
    original = png(3000, 1000)
    d, bucket, posts = deps({"account_id": "a1", "kind": "image", "media": [{"key": "u/wide.png"}]},
                            {"u/wide.png": original})
    assert prepare_post(d, "p1", {"status": "scheduled", "publish_at": "2030-01-01T00:00:00Z"}, execution_id="e1") == {
        "status": "scheduled", "publish_at": "2030-01-01T00:00:00Z"}
    assert bucket.objects["u/wide.png"] == original and bucket.puts == ["u/wide.png.ig.jpg"]
    req = PostRequest.model_validate_json(posts.rec.request)
    assert req.media[0].key == "u/wide.png.ig.jpg"
    [done] = posts.rec.media_prepared
    assert done["original"] == "u/wide.png" and done["summary"].startswith("PNG -> JPEG, transparency on white, "
                                                                          "3.00:1 padded to 1.91:1")
    # a retried task prepares nothing twice
    assert prepare_post(d, "p1", {"status": "ready"}, execution_id="e1") == {"status": "ready"}
    assert bucket.puts == ["u/wide.png.ig.jpg"]


def test_carousel_items_take_the_first_items_ratio_and_fitting_items_stay() -> None:
    objects = {"a.jpg": jpeg(1080, 1350), "b.png": png(2000, 1000), "c.jpg": jpeg(1080, 1350)}
    request = {"account_id": "a1", "kind": "carousel", "fit": "crop",
               "media": [{"key": "a.jpg"}, {"key": "b.png"}, {"key": "c.jpg"}]}
    problems, work = plan_post(Bucket(objects).peek, PostRequest.model_validate(request))
    assert problems == [] and work[0] == [] and work[2] == [] and work[1][0] == "PNG -> JPEG"
    d, bucket, _ = deps(request, objects)
    prepare_post(d, "p1", {"status": "ready"}, execution_id="e1")
    assert bucket.puts == ["b.png.ig.jpg"]
    with Image.open(io.BytesIO(bucket.objects["b.png.ig.jpg"])) as out:
        assert abs(Fraction(*out.size) - Fraction(4, 5)) < Fraction(1, 100)


def test_refuse_and_missing_keys_are_problems_before_anything_runs() -> None:
    request = PostRequest.model_validate({"account_id": "a1", "kind": "carousel", "fit": "refuse",
                                          "media": [{"key": "wide.jpg"}, {"key": "gone.jpg"}]})
    problems, _ = plan_post(Bucket({"wide.jpg": jpeg(1080, 300)}).peek, request)
    assert problems[0].startswith("wide.jpg is 1080x300 (3.60:1); Instagram accepts 4:5 to 1.91:1 here")
    assert problems[1] == "gone.jpg: no such file in the media bucket"


def test_urls_only_with_prepare_true_and_refusals_fail_the_post() -> None:
    request = {"account_id": "a1", "kind": "image", "media": [{"url": "https://cdn.example.com/p.png"}]}
    d, bucket, _ = deps(request, {})
    assert prepare_post(d, "p1", {"status": "ready"}, execution_id="e1") == {"status": "ready"} and bucket.puts == []

    got: list[str] = []

    def fetch(url: str, **kw: Any) -> Fetched:
        got.append(url)
        return Fetched(png(500, 2000), "image/png", url)

    d, bucket, posts = deps({**request, "prepare": True}, {}, fetch)
    assert prepare_post(d, "p1", {"status": "ready"}, execution_id="e1") == {"status": "ready"}
    assert got == ["https://cdn.example.com/p.png"]
    assert bucket.puts == ["fetched/p1/0-p.png", "fetched/p1/0-p.png.ig.jpg"]
    assert "0.25:1 padded to 4:5" in posts.rec.media_prepared[0]["summary"]

    d, _, _ = deps({**request, "prepare": True, "fit": "refuse"}, {}, fetch)
    out = prepare_post(d, "p1", {"status": "ready"}, execution_id="e1")
    assert out["status"] == "failed" and out.get("code") == "media_refused"
    assert "crop it shorter" in out.get("reason", "")


def test_image_facts_from_the_first_bytes() -> None:
    f = plan.image_facts(png(300, 200))
    assert (f.format, f.width, f.height) == ("PNG", 300, 200)
    assert plan.image_work(plan.image_facts(jpeg(1080, 1080)), 1000, role="feed", fit="pad") == []
    assert plan.image_work(plan.image_facts(jpeg(200, 200)), 1000, role="feed", fit="pad") == ["200 px wide -> 320"]


def test_only_the_owner_execution_prepares_and_writes() -> None:
    original = png(3000, 1000)
    d, bucket, posts = deps({"account_id": "a1", "kind": "image", "media": [{"key": "u/wide.png"}]},
                            {"u/wide.png": original})
    before = posts.rec
    out = prepare_post(d, "p1", {"status": "ready"}, execution_id="someone-else")
    assert out["status"] == "duplicate"
    assert posts.rec == before and bucket.puts == []
