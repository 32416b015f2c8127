"""Media preparation end to end (igpub.media): generated media of awkward kinds put in the media bucket (or given
by URL with prepare: true), published through Step Functions -> PrepareMedia (MediaFunction) -> the publisher ->
the fake Instagram, whose checks accept every rendition; the originals stay as they were."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from igpub.accounts import Account
from igpub.media import plan
from igpub.media.images import register_openers
from igpub.media.video import ffmpeg_exe
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram

register_openers()


def put(dep: Deployment, name: str, data: bytes) -> str:
    key = f"tests/media/{uuid.uuid4().hex}/{name}"
    dep.client("s3").put_object(Bucket=dep.output("MediaBucketName"), Key=key, Body=data)
    return key


def get(dep: Deployment, key: str) -> bytes:
    body: bytes = dep.client("s3").get_object(Bucket=dep.output("MediaBucketName"), Key=key)["Body"].read()
    return body


def encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png16_rgba(w: int, h: int) -> bytes:
    """A 16-bit-per-channel RGBA PNG (colour type 6, bit depth 16), which Pillow cannot write itself."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"".join(struct.pack(">HHHH", x * 65535 // w, y * 65535 // h, 30000, 40000)
                                        for x in range(w)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def run(dep: Deployment, request: dict[str, Any]) -> api.PostRecord:
    sub = api.submit_post(dep, request)
    return api.watch_post(dep, sub, timeout_s=300)


def entered(dep: Deployment, rec: api.PostRecord) -> list[str]:
    events = dep.client("stepfunctions").get_execution_history(executionArn=rec.execution_id, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def assert_image_spec(data: bytes, *, feed: bool = True) -> tuple[int, int]:
    facts = plan.image_facts(data)
    assert facts.format == "JPEG" and not facts.progressive and not facts.exif and not facts.icc
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
        assert img.mode == "RGB"
    assert len(data) <= plan.IMAGE_MAX_BYTES and plan.MIN_WIDTH <= w <= plan.MAX_WIDTH
    if feed:
        assert plan.FEED_RANGE.contains(w, h)
    return w, h


def test_png_at_three_to_one_is_padded_and_published(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    original = encode(Image.new("RGB", (3000, 1000), (30, 60, 200)), "PNG")
    key = put(dep, "wide.png", original)
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "media": [{"key": key}], "caption": "wide"})
    assert rec.status == "published", rec.failure_reason
    assert "PrepareMedia" in entered(dep, rec)
    [done] = rec.media_prepared
    assert done["original"] == key and done["rendition"] == f"{key}.ig.jpg"
    assert done["summary"].startswith("PNG -> JPEG, 3.00:1 padded to 1.91:1")
    assert get(dep, key) == original  # the original is kept as it was
    assert_image_spec(get(dep, done["rendition"]))
    assert len(fake.media(account.account_id)) == 1


def test_twelve_mb_noise_jpeg_scheduled_comes_under_eight(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    noise = Image.frombytes("RGB", (3000, 2700), os.urandom(3000 * 2700 * 3))
    original = encode(noise, "JPEG", quality=100)
    assert len(original) > 12_000_000
    key = put(dep, "noise.jpg", original)
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "media": [{"key": key}], "publish_at": soon})
    assert rec.status == "published", rec.failure_reason
    states = entered(dep, rec)
    assert states.index("PrepareMedia") < states.index("WaitUntilPublishAt")  # prepared before the wait
    [done] = rec.media_prepared
    assert f"{plan.mb(len(original))} -> " in done["summary"]
    assert_image_spec(get(dep, done["rendition"]))


def test_prepare_true_url_to_the_metadata_address_is_refused(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "prepare": True,
                    "media": [{"url": "https://169.254.169.254/latest/meta-data/photo.png"}]})
    assert rec.status == "failed"
    assert "not a public address" in (rec.failure_reason or "")
    assert rec.media_prepared == [] and fake.media(account.account_id) == []


def test_jpeg_that_fits_skips_the_media_state(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    key = put(dep, "square.jpg", encode(Image.new("RGB", (1080, 1080), (1, 2, 3)), "JPEG"))
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "media": [{"key": key}]})
    assert rec.status == "published", rec.failure_reason
    assert "PrepareMedia" not in entered(dep, rec) and rec.media_prepared == []


def test_carousel_of_awkward_images_fitted_to_the_first(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    rot = Image.new("RGB", (1600, 1200), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}
    sixteen = Image.linear_gradient("L").resize((700, 1400)).convert("I").point(lambda v: v * 256)
    items = [
        ("rotated.jpg", encode(rot, "JPEG", exif=exif.tobytes())),  # becomes 1200x1600 portrait (3:4 -> 4:5)
        ("photo.heic", encode(Image.new("RGB", (1000, 1000), (9, 200, 9)), "HEIF")),
        ("cmyk.jpg", encode(Image.new("CMYK", (800, 2400), (0, 90, 200, 0)), "JPEG")),
        ("grey16.png", encode(sixteen.convert("I;16"), "PNG")),
        ("alpha16.png", png16_rgba(600, 200)),
        ("anim.gif", encode(Image.new("P", (500, 300)), "GIF")),
        ("pic.webp", encode(Image.new("RGB", (900, 900)), "WEBP")),
        ("pic.avif", encode(Image.new("RGB", (1200, 900)), "AVIF")),
        ("scan.tiff", encode(Image.new("RGB", (640, 480)), "TIFF")),
    ]
    keys = [put(dep, name, data) for name, data in items]
    rec = run(dep, {"account_id": account.account_id, "kind": "carousel", "fit": "crop",
                    "media": [{"key": k} for k in keys]})
    assert rec.status == "published", rec.failure_reason
    assert len(rec.media_prepared) == len(items)
    sizes = [assert_image_spec(get(dep, d["rendition"])) for d in sorted(rec.media_prepared, key=lambda d: d["index"])]
    w0, h0 = sizes[0]
    assert w0 < h0  # turned upright
    for w, h in sizes[1:]:
        assert abs(w / h - w0 / h0) < 0.01  # every item at the first item's ratio
    for (name, data), key in zip(items, keys, strict=True):
        assert get(dep, key) == data, name


def test_refuse_keeps_todays_behaviour(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    key = put(dep, "wide.jpg", encode(Image.new("RGB", (1080, 300)), "JPEG"))
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "fit": "refuse", "media": [{"key": key}]})
    assert rec.status == "failed"
    assert re.search(r"wide.jpg is 1080x300 \(3.60:1\).*crop it narrower", rec.failure_reason or "")
    assert rec.media_prepared == [] and fake.media(account.account_id) == []


def test_url_with_prepare_true_is_fetched_and_prepared(dep: Deployment, fake: FakeInstagram, account: Account) -> None:
    url = fake.cdn("image.jpg", w=2000, h=800)  # 2.5:1, which Instagram refuses as it is
    rec = run(dep, {"account_id": account.account_id, "kind": "image", "prepare": True, "media": [{"url": url}]})
    assert rec.status == "published", rec.failure_reason
    [done] = rec.media_prepared
    assert done["original"].startswith(f"fetched/{rec.post_id}/")
    assert "2.50:1 padded to 1.91:1" in done["summary"]


def video(tmp: Path, name: str, *args: str) -> bytes:
    path = tmp / name
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)], check=True)
    return path.read_bytes()


def test_reel_from_vp9_webm_and_story_from_late_moov(
    dep: Deployment, fake: FakeInstagram, account: Account, tmp_path: Path
) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": 0.5, "STORIES_VIDEO": 0.5})
    src = ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=4", "-f", "lavfi", "-i", "sine=d=4"]
    webm = video(tmp_path, "a.webm", *src, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus")
    late = video(tmp_path, "b.mp4", *src, "-c:v", "libx264", "-c:a", "aac")
    vfr = video(tmp_path, "c.mov", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=90:d=4", "-vf",
                "setpts='PTS+0.02*sin(N)/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-f", "mov")
    for kind, name, data in (("reel", "clip.webm", webm), ("story", "late.mp4", late), ("reel", "vfr.mov", vfr)):
        key = put(dep, name, data)
        rec = run(dep, {"account_id": account.account_id, "kind": kind, "media": [{"key": key, "type": "video"}]})
        assert rec.status == "published", rec.failure_reason
        [done] = rec.media_prepared
        out = get(dep, done["rendition"])
        facts = plan.video_facts(out[:262144])
        assert facts.moov_first and facts.video_codec == "avc1" and plan.video_work(facts, len(out), role=kind) == []
        assert "s kept" in done["summary"]


def test_short_video_is_refused_with_range_and_length(
    dep: Deployment, fake: FakeInstagram, account: Account, tmp_path: Path
) -> None:
    webm = video(tmp_path, "s.webm", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2", "-c:v", "libvpx-vp9",
                 "-deadline", "realtime")
    key = put(dep, "short.webm", webm)
    rec = run(dep, {"account_id": account.account_id, "kind": "reel", "media": [{"key": key}]})
    assert rec.status == "failed"
    assert "2.0 s long; Instagram takes reel videos of 3 s to 15 min" in (rec.failure_reason or "")
    assert fake.media(account.account_id) == []


def test_cli_prints_the_plan_posts_a_png_and_shows_what_was_done(
    dep: Deployment, fake: FakeInstagram, account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from igpub_cli.main import main

    wide = tmp_path / "wide.png"
    Image.new("RGB", (3000, 1000), (5, 80, 160)).save(wide)
    assert main(["post", "--account", account.account_id, "--file", str(wide), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["wide.png: PNG -> JPEG, 3.00:1 padded to 1.91:1, 3000 px wide -> 1440"]
    assert fake.media(account.account_id) == []  # --dry-run: nothing uploaded or started
    assert main(["post", "--account", account.account_id, "--file", str(wide), "--fill", "white"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wide.png: PNG -> JPEG, 3.00:1 padded to 1.91:1")
    assert "-> PrepareMedia" in out and "permalink: https://www.instagram.com/p/" in out
    assert main(["posts", "--json"]) == 0
    [done] = json.loads(capsys.readouterr().out)[0]["media_prepared"]
    assert done["original"].endswith("/wide.png") and done["rendition"].endswith("/wide.png.ig.jpg")
    assert done["summary"].startswith("PNG -> JPEG, 3.00:1 padded to 1.91:1, scaled down to 1440x754")
    assert main(["posts"]) == 0
    assert "wide.png: PNG -> JPEG" in capsys.readouterr().out


def test_carousel_video_takes_the_first_images_ratio(
    dep: Deployment, fake: FakeInstagram, account: Account, tmp_path: Path
) -> None:
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "VIDEO": 0.5})
    clip = video(tmp_path, "w.mp4", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=4", "-f", "lavfi", "-i",
                 "sine=d=4", "-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart")
    photo = put(dep, "portrait.jpg", encode(Image.new("RGB", (1080, 1350), (4, 4, 4)), "JPEG"))
    key = put(dep, "wide.mp4", clip)
    rec = run(dep, {"account_id": account.account_id, "kind": "carousel", "media": [{"key": photo}, {"key": key}]})
    assert rec.status == "published", rec.failure_reason
    [done] = rec.media_prepared  # the photo fits as it is; only the video is fitted
    assert done["index"] == 1 and "1.78:1 padded to 4:5" in done["summary"]
    assert abs(done["width"] / done["height"] - 0.8) < 0.01
