"""media_check: format sniffing, the JPEG frame-header parser, image and video checks (offline)."""

from __future__ import annotations

import io
import random
import struct
from typing import Any

import pytest
from PIL import Image

from igpub.publishing.media_check import (
    HEAD_BYTES,
    IMAGE_MAX_BYTES,
    MiB,
    check_image,
    check_video,
    jpeg_dimensions,
    mp4_duration,
    sniff,
)


def jpeg(width: int, height: int, *, noise: bool = False, **save: Any) -> bytes:
    if noise:
        rnd = random.Random(7)
        im = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    else:
        im = Image.new("RGB", (width, height), (200, 120, 40))
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def png(width: int = 10, height: int = 10) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "PNG")
    return buf.getvalue()


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(brand: bytes = b"isom") -> bytes:
    return box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"mp41")


MP4_FASTSTART = ftyp() + box(b"moov", b"\x00" * 100) + box(b"mdat", b"\x00" * 1000)
MP4_MOOV_LAST = ftyp() + box(b"free") + box(b"mdat", b"\x00" * 1000) + box(b"moov", b"\x00" * 100)
MOV = ftyp(b"qt  ") + box(b"wide") + box(b"moov", b"\x00" * 20)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (jpeg(8, 8), "jpeg"),
        (png(), "png"),
        (MP4_FASTSTART, "mp4"),
        (MOV, "mov"),
        (b"GIF89a....", "unknown"),
        (b"", "unknown"),
        (b"\x00\x00\x00\x08ftyp", "unknown"),  # too short for a brand
    ],
)
def test_sniff(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("size", "save"),
    [
        ((1080, 1350), {}),  # baseline (SOF0)
        ((1440, 754), {"progressive": True}),  # progressive (SOF2)
        ((321, 1), {"quality": 50, "optimize": True}),
        ((65500, 3), {}),
        ((17, 23), {"exif": b"Exif\x00\x00" + b"\x00" * 2000}),
    ],
)
def test_jpeg_dimensions_real_files(size: tuple[int, int], save: dict[str, Any]) -> None:
    data = jpeg(*size, **save)
    assert jpeg_dimensions(data) == size


def test_progressive_marker_is_sof2() -> None:
    data = jpeg(100, 80, progressive=True)
    assert b"\xff\xc2" in data and b"\xff\xc0" not in data
    assert jpeg_dimensions(data) == (100, 80)


def test_jpeg_dimensions_from_a_prefix_of_a_big_file() -> None:
    data = jpeg(1200, 900, noise=True, quality=95)
    assert len(data) > 4 * HEAD_BYTES
    assert jpeg_dimensions(data[:HEAD_BYTES]) == (1200, 900)
    assert jpeg_dimensions(data[:1024]) == (1200, 900)


def test_jpeg_dimensions_when_the_header_is_past_the_prefix() -> None:
    # A large ICC profile is split over several APP2 segments before the frame header.
    data = jpeg(640, 800, icc_profile=b"\x01" * (200 * 1024))
    assert jpeg_dimensions(data) == (640, 800)
    assert jpeg_dimensions(data[:HEAD_BYTES]) is None
    # Unknown dimensions in a prefix are not a problem by themselves ...
    assert check_image(data[:HEAD_BYTES], len(data), role="feed") == []
    # ... but a whole file with no frame header is.
    assert "not a valid JPEG" in check_image(data[:HEAD_BYTES], HEAD_BYTES, role="feed")[0]


@pytest.mark.parametrize(
    "data",
    [
        png(),
        b"",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe0\x00",
        b"\xff\xd8\x00\x00",
        b"\xff\xd8\xff\xda\x00\x08" + b"\0" * 6,
        MP4_FASTSTART,
    ],
)
def test_jpeg_dimensions_rejects(data: bytes) -> None:
    assert jpeg_dimensions(data) is None


def test_lossless_jpeg_frame_is_not_reported_as_dimensions() -> None:
    data = bytearray(jpeg(30, 20))
    i = data.index(b"\xff\xc0")
    data[i + 1] = 0xC3
    assert jpeg_dimensions(bytes(data)) is None
    assert "unusual JPEG encoding" in check_image(bytes(data), len(data), role="story")[0]


# ------------------------------------------------------------------------------------------ images


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ((1080, 1350), True),  # 4:5 exactly
        ((1080, 1351), False),
        ((1910, 1000), True),  # 1.91:1 exactly
        ((1911, 1000), False),
        ((1080, 1080), True),
        ((2000, 900), False),
        ((1080, 1920), False),
    ],
)
def test_feed_aspect_ratio(size: tuple[int, int], ok: bool) -> None:
    data = jpeg(*size)
    found = check_image(data, len(data), role="feed", name="photo.jpg")
    assert (found == []) is ok, found
    # Stories and reel covers only recommend 9:16.
    assert check_image(data, len(data), role="story") == []
    assert check_image(data, len(data), role="cover") == []


def test_aspect_message_is_actionable() -> None:
    data = jpeg(2000, 900)
    assert check_image(data, len(data), role="feed", name="photo.jpg") == [
        "photo.jpg is 2000x900 (2.22:1); Instagram accepts feed images between 4:5 and 1.91:1, "
        "so crop it narrower"
    ]
    tall = jpeg(1080, 1920)
    assert "crop it shorter" in check_image(tall, len(tall), role="feed")[0]


def test_png_rejected() -> None:
    data = png()
    assert check_image(data, len(data), role="feed", name="a.png") == [
        "a.png is a PNG; Instagram accepts only JPEG images, so convert it to JPEG"
    ]


@pytest.mark.parametrize("data", [MP4_FASTSTART, b"GIF89a", b""])
def test_other_formats_rejected_as_images(data: bytes) -> None:
    found = check_image(data, len(data), role="story", name="x")
    assert len(found) == 1 and "only JPEG" in found[0]


@pytest.mark.parametrize("role", ["feed", "story", "cover"])
def test_image_size_limit(role: str) -> None:
    head = jpeg(1080, 1080)
    assert check_image(head, IMAGE_MAX_BYTES, role=role) == []  # type: ignore[arg-type]
    found = check_image(head, IMAGE_MAX_BYTES + 1, role=role, name="big.jpg")  # type: ignore[arg-type]
    assert found == [
        "big.jpg is 8,388,609 bytes; Instagram accepts images up to 8,388,608 bytes: "
        "re-save it at a lower quality or smaller size"
    ]


def test_big_and_wrong_ratio_reported_together() -> None:
    head = jpeg(3000, 1000)
    assert len(check_image(head, 20 * MiB, role="feed")) == 2


def test_mpo_rejected() -> None:
    buf = io.BytesIO()
    first = Image.new("RGB", (40, 40))
    first.save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 40))])
    data = buf.getvalue()
    assert sniff(data) == "jpeg"
    assert jpeg_dimensions(data) == (40, 40)
    found = check_image(data, len(data), role="feed", name="3d.jpg")
    assert found == [
        "3d.jpg is a multi-picture JPEG (MPO), which Instagram rejects; re-save it as a plain JPEG"
    ]


# ------------------------------------------------------------------------------------------ videos


@pytest.mark.parametrize("data", [MP4_FASTSTART, MOV])
@pytest.mark.parametrize("role", ["reel", "story", "carousel"])
def test_video_ok(data: bytes, role: str) -> None:
    assert check_video(data, len(data), role=role) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "limit"), [("reel", 300 * MiB), ("story", 100 * MiB), ("carousel", 300 * MiB)]
)
def test_video_size_limits(role: str, limit: int) -> None:
    assert check_video(MP4_FASTSTART, limit, role=role) == []  # type: ignore[arg-type]
    found = check_video(MP4_FASTSTART, limit + 1, role=role, name="clip.mp4")  # type: ignore[arg-type]
    assert found == [
        f"clip.mp4 is {limit + 1:,} bytes; Instagram accepts {role} videos up to {limit:,} bytes: "
        "shorten it or lower the bitrate"
    ]
    found = check_video(MP4_FASTSTART, 2 * limit, role=role, name="clip.mp4")  # type: ignore[arg-type]
    assert found[0].startswith(
        f"clip.mp4 is {2 * limit // MiB}.0 MiB; Instagram accepts {role} videos up to "
    )


@pytest.mark.parametrize("data", [jpeg(10, 10), png(), b"RIFF....AVI ", b""])
def test_non_mp4_rejected(data: bytes) -> None:
    found = check_video(data, len(data), role="reel", name="clip")
    assert len(found) == 1 and "only MP4 or MOV" in found[0]


def test_moov_after_mdat_reported() -> None:
    found = check_video(MP4_MOOV_LAST, len(MP4_MOOV_LAST), role="reel", name="clip.mp4")
    assert len(found) == 1 and "faststart" in found[0]


def test_moov_position_unknown_in_a_short_head_is_not_a_problem() -> None:
    head = ftyp() + struct.pack(">I", 8 + 10_000) + b"free"  # the free box runs past the head
    assert check_video(head, 50 * MiB, role="reel") == []


def test_large_mdat_box_with_64_bit_size() -> None:
    data = ftyp() + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 5 * 2**32) + b"\x00" * 64
    assert "faststart" in check_video(data, 200 * MiB, role="reel")[0]


# ------------------------------------------------------------------------------------------ durations


def mvhd(seconds: float, *, version: int = 0, timescale: int = 600) -> bytes:
    ticks = round(seconds * timescale)
    if version == 1:
        body = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, timescale, ticks)
    else:
        body = bytes([0, 0, 0, 0]) + struct.pack(">IIII", 0, 0, timescale, ticks)
    return box(b"mvhd", body + b"\x00" * 80)


def video_of(seconds: float, **kw: Any) -> bytes:
    return ftyp() + box(b"moov", mvhd(seconds, **kw) + box(b"trak", b"\x00" * 40)) + box(b"mdat", b"\x00" * 100)


@pytest.mark.parametrize("version", [0, 1])
def test_mp4_duration_from_mvhd(version: int) -> None:
    assert mp4_duration(video_of(12.5, version=version)) == 12.5
    assert mp4_duration(video_of(3600, version=version, timescale=90_000)) == 3600


@pytest.mark.parametrize(
    "head",
    [MP4_FASTSTART, MP4_MOOV_LAST, MOV, video_of(10)[:40], ftyp() + box(b"moov", box(b"mvhd", b"\x00" * 8)),
     ftyp() + box(b"moov", mvhd(5, timescale=0)), b""],
    ids=["no-mvhd", "moov-last", "mov-no-mvhd", "truncated", "short-mvhd", "timescale-0", "empty"],
)
def test_mp4_duration_unknown(head: bytes) -> None:
    assert mp4_duration(head) is None


@pytest.mark.parametrize(
    ("role", "seconds", "ok"),
    [
        ("reel", 2.9, False), ("reel", 3.0, True), ("reel", 900.0, True), ("reel", 900.5, False),
        ("story", 2.5, False), ("story", 3.0, True), ("story", 60.0, True), ("story", 61.0, False),
        ("story", 90.0, False), ("carousel", 1.0, False), ("carousel", 3.0, True), ("carousel", 900.0, True),
        ("carousel", 901.0, False),
    ],
)
def test_video_duration_limits(role: str, seconds: float, ok: bool) -> None:
    data = video_of(seconds)
    found = check_video(data, len(data), role=role, name="clip.mp4")  # type: ignore[arg-type]
    assert (found == []) is ok
    if not ok:
        assert len(found) == 1 and found[0].startswith(f"clip.mp4 is {seconds:.1f} s long; Instagram accepts {role}")
        assert ("trim it" if seconds > 3 else "use a longer clip") in found[0]


def test_video_duration_message() -> None:
    data = video_of(1)
    assert check_video(data, len(data), role="reel", name="a.mp4") == [
        "a.mp4 is 1.0 s long; Instagram accepts reel videos of 3 s to 15 min: use a longer clip"
    ]
    data = video_of(90)
    assert check_video(data, len(data), role="story", name="s.mp4") == [
        "s.mp4 is 90.0 s long; Instagram accepts story videos of 3 s to 1 min: trim it"
    ]


def test_video_with_64_bit_moov_size() -> None:
    moov_payload = mvhd(30)
    data = ftyp() + struct.pack(">I", 1) + b"moov" + struct.pack(">Q", 16 + len(moov_payload)) + moov_payload
    assert mp4_duration(data) == 30
