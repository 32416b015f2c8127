"""igpub.media.images: every output meets Instagram's image specifications for its kind (Meta's IG User Media
reference, media specifications), whatever goes in; the original's bytes are never changed."""

from __future__ import annotations

import io
import os
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from igpub.media import plan
from igpub.media.images import UnreadableImage, prepare_image, register_openers

register_openers()

FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF"]
MODES = ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16"]


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    if fmt in ("JPEG", "HEIF", "AVIF", "BMP") and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    if fmt != "JPEG" and img.mode == "CMYK":
        img = img.convert("RGB")
    if fmt in ("WEBP", "GIF") and img.mode == "I;16":
        img = img.convert("L")
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def picture(w: int, h: int, mode: str, seed: int) -> Image.Image:
    base = Image.linear_gradient("L").resize((w, h)).rotate(seed % 360)
    rgb = Image.merge("RGB", (base, base.rotate(90), Image.new("L", (w, h), seed % 256)))
    if mode == "I;16":
        return base.convert("I").point(lambda v: v * 256).convert("I;16")
    return rgb.convert(mode)


def check_output(data: bytes, *, role: str, first: tuple[int, int] | None) -> tuple[int, int]:
    """The §4 checks: JPEG, baseline, RGB, sRGB (no other profile), no EXIF, <= 8 MiB, 320..1440 wide, the
    feed ratio (and the first carousel item's, within a pixel)."""
    assert data[:3] == b"\xff\xd8\xff"
    assert len(data) <= plan.IMAGE_MAX_BYTES
    facts = plan.image_facts(data)
    assert facts.format == "JPEG" and not facts.progressive and not facts.mpo and not facts.odd_encoding
    assert not facts.exif and not facts.icc and facts.components == 3
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.mode == "RGB"
        assert not img.getexif() and "icc_profile" not in img.info and "progressive" not in img.info
        w, h = img.size
    assert plan.MIN_WIDTH <= w <= plan.MAX_WIDTH
    if role == "feed":
        assert plan.FEED_RANGE.contains(w, h), (w, h)
        if first is not None:
            r0 = min(max(Fraction(*first), plan.FEED_RANGE.lo), plan.FEED_RANGE.hi)
            assert abs(w - r0 * h) <= 1 or abs(Fraction(w, h) - r0) <= Fraction(1, 100), (w, h, first)
    return w, h


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    w=st.integers(1, 2600),
    h=st.integers(1, 2600),
    fmt=st.sampled_from(FORMATS),
    mode=st.sampled_from(MODES),
    role=st.sampled_from(["feed", "story"]),
    fit=st.sampled_from(["pad", "crop"]),
    fill=st.sampled_from(["blur", "white", "#204060"]),
    focal=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    first=st.none() | st.tuples(st.integers(100, 3000), st.integers(100, 3000)),
    orientation=st.integers(1, 8),
    seed=st.integers(0, 1000),
)
def test_every_output_meets_the_image_specs_and_the_original_is_untouched(
    w: int,
    h: int,
    fmt: str,
    mode: str,
    role: str,
    fit: str,
    fill: str,
    focal: tuple[float, float],
    first: tuple[int, int] | None,
    orientation: int,
    seed: int,
) -> None:
    img = picture(w, h, mode, seed)
    kw: dict[str, object] = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
        kw["exif"] = exif.tobytes()
    data = encode(img, fmt, **kw)
    before = bytes(data)
    out = prepare_image(data, role=role, fit=fit, focal=focal, fill=fill, first=first if role == "feed" else None)  # type: ignore[arg-type]
    assert data == before  # the original is never changed
    w2, h2 = check_output(out.data, role=role, first=first if role == "feed" else None)
    assert (out.width, out.height) == (w2, h2)
    if role == "story" or first is None:  # a rendition needs no more work: preparing is idempotent
        assert plan.image_work(plan.image_facts(out.data), len(out.data), role=role, fit=fit) == []  # type: ignore[arg-type]
    if fmt != "JPEG":
        assert out.notes[0] == f"{fmt} -> JPEG"
    if role == "story":
        assert plan.STORY_RANGE.contains(w2, h2)
        sw, sh = out.src_size
        if plan.STORY_RANGE.contains(sw, sh):  # the ratio is kept (within the rounding of a pixel)
            assert abs(h2 - w2 * sh / sw) <= 1, (w2, h2, sw, sh)  # the height is the rounded side


@settings(max_examples=200, deadline=None)
@given(
    w=st.integers(1, 20000),
    h=st.integers(1, 20000),
    fit=st.sampled_from(["pad", "crop"]),
    focal=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    first=st.none() | st.tuples(st.integers(1, 5000), st.integers(1, 5000)),
)
def test_geometry_lands_in_range_for_any_size(
    w: int, h: int, fit: str, focal: tuple[float, float], first: tuple[int, int] | None
) -> None:
    target, bounds = plan.item_target("feed", first)
    g = plan.fit_geometry(w, h, target=target, bounds=bounds, fit=fit, focal=focal)  # type: ignore[arg-type]
    ow, oh = g.out
    assert plan.FEED_RANGE.contains(ow, oh)
    assert plan.MIN_WIDTH <= ow <= plan.MAX_WIDTH
    left, top, right, bottom = g.crop
    assert 0 <= left < right <= w and 0 <= top < bottom <= h
    if fit == "pad":  # nothing of the picture is lost
        assert g.crop == (0, 0, w, h)
        assert g.canvas[0] >= w and g.canvas[1] >= h
    if target is not None and target.contains(w, h):
        assert g.action == "kept"


def test_refuse_keeps_todays_message() -> None:
    data = encode(picture(1080, 300, "RGB", 1), "JPEG")
    with pytest.raises(plan.NoFit, match=r"wide.jpg is 1080x300 \(3.60:1\).*crop it narrower"):
        prepare_image(data, fit="refuse", name="wide.jpg")


def test_summary_says_what_was_done() -> None:
    data = encode(picture(3000, 1000, "RGB", 3), "PNG")
    r = prepare_image(data)
    assert r.summary.startswith("PNG -> JPEG, 3.00:1 padded to 1.91:1, scaled down to 1440x754, ")
    assert r.summary.endswith(f"{plan.mb(len(data))} -> {plan.mb(len(r.data))}")


def test_exif_rotation_is_applied_and_gps_removed() -> None:
    img = Image.new("RGB", (1200, 900), (200, 0, 0))
    img.paste((0, 0, 200), (0, 0, 600, 900))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}
    exif[0xA431] = "SERIAL123"  # BodySerialNumber
    data = encode(img, "JPEG", exif=exif.tobytes())
    r = prepare_image(data, fit="crop")
    assert "turned upright (EXIF orientation)" in r.notes and "metadata removed" in r.notes
    assert b"SERIAL123" not in r.data and b"Exif" not in r.data
    with Image.open(io.BytesIO(r.data)) as out:
        assert out.height > out.width  # portrait now
        top = out.getpixel((out.width // 2, 2))
        assert isinstance(top, tuple) and top[2] > 150  # blue on top after the rotation


def test_cmyk_becomes_srgb_and_profiles_are_not_carried() -> None:
    r = prepare_image(encode(Image.new("CMYK", (800, 800), (0, 255, 255, 0)), "JPEG"))
    assert "CMYK -> sRGB" in r.notes
    with Image.open(io.BytesIO(r.data)) as out:
        red = out.getpixel((400, 400))
    assert isinstance(red, tuple) and red[0] > 200 and red[1] < 60
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    img = Image.new("RGB", (400, 400), (255, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "JPEG", icc_profile=srgb.tobytes())
    assert plan.image_work(plan.image_facts(buf.getvalue()), len(buf.getvalue()), role="feed", fit="pad")
    r = prepare_image(buf.getvalue())
    check_output(r.data, role="feed", first=None)  # no profile in the output: sRGB


def test_twelve_mb_noise_jpeg_comes_under_eight() -> None:
    noise = Image.frombytes("RGB", (2600, 2000), os.urandom(2600 * 2000 * 3))
    data = encode(noise, "JPEG", quality=100)
    r = prepare_image(data, max_bytes=600_000)  # a small cap makes the quality and scale steps run
    assert len(r.data) <= 600_000
    assert r.quality < 90 or any("to stay within" in n for n in r.notes)
    check_output(r.data, role="feed", first=None)


def test_not_an_image_is_refused_with_the_name() -> None:
    with pytest.raises(UnreadableImage, match=r"notes\.txt is not an image"):
        prepare_image(b"hello", name="notes.txt")
