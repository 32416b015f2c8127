"""Checks of media bytes that igpub holds itself (objects in the media bucket, files the CLI uploads).

Pure functions over the first bytes of a file (``head``, e.g. the first 64 KiB) and its total size:
no boto3, no Pillow, so the Lambda layer stays small. They catch what Instagram would reject after a
long wait (media specifications of https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media):
non-JPEG images, multi-picture (MPO) JPEGs, oversized files, feed images outside 4:5 .. 1.91:1, videos
that are not MP4/MOV, videos whose ``moov`` atom is not at the front, and videos whose duration (the
``mvhd`` box) is outside what Instagram accepts for their kind. Every message names the file and says
what to do.

The duration comes from a tiny reader of the ``moov/mvhd`` box in the file's first bytes rather than a
library such as mutagen: Instagram requires the ``moov`` atom at the front, so the 64 KiB head that igpub
already reads (one ranged S3 GET) holds it, and mutagen would want a seekable file (the whole object)
and add a dependency to the layer for four integers.

Sizes: the reference writes "8 MB", "300 MB", "100 MB" without saying decimal or binary; igpub reads
them as MiB (8 MiB = 8,388,608 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MiB = 1024 * 1024
IMAGE_MAX_BYTES = 8 * MiB
VIDEO_MAX_BYTES: dict[str, int] = {"reel": 300 * MiB, "story": 100 * MiB, "carousel": 300 * MiB}
# Durations in seconds (Reels 3 s - 15 min, story videos 3 - 60 s, from the IG User Media page above).
# Carousel video items: Meta's page gives no separate range; igpub applies the Reels one (UNCONFIRMED).
VIDEO_SECONDS: dict[str, tuple[float, float]] = {"reel": (3.0, 900.0), "story": (3.0, 60.0), "carousel": (3.0, 900.0)}
# Feed images: 4:5 (0.8) .. 1.91:1, compared with integers: 4/5 <= w/h <= 191/100.
FEED_MIN_RATIO = (4, 5)
FEED_MAX_RATIO = (191, 100)
HEAD_BYTES = 64 * 1024  # how much of a file callers should read for these checks

Sniffed = Literal["jpeg", "png", "mp4", "mov", "unknown"]

_SOF_DIMENSIONS = {0xC0, 0xC1, 0xC2}  # baseline, extended sequential, progressive
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # lossless, arithmetic ...
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7: no length field

__all__ = [
    "HEAD_BYTES",
    "IMAGE_MAX_BYTES",
    "VIDEO_MAX_BYTES",
    "VIDEO_SECONDS",
    "check_image",
    "check_video",
    "jpeg_dimensions",
    "mp4_duration",
    "sniff",
]


def sniff(data: bytes) -> Sniffed:
    """The container format from the first bytes: JPEG (FF D8 FF), PNG, or MP4/MOV (an ``ftyp`` box;
    major brand ``qt  `` is MOV, anything else MP4)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    return "unknown"


@dataclass(frozen=True)
class _JpegInfo:
    width: int | None = None
    height: int | None = None
    sof: int | None = None  # the frame marker found (0xC0 ...)
    mpo: bool = False  # an APP2 "MPF" segment: a multi-picture (MPO) file
    truncated: bool = False  # ran out of bytes before the frame header
    broken: bool = False  # the marker structure is invalid


def _jpeg_info(data: bytes) -> _JpegInfo:
    if data[:2] != b"\xff\xd8":
        return _JpegInfo(broken=True)
    mpo = False
    i, n = 2, len(data)
    while True:
        if i >= n:
            return _JpegInfo(mpo=mpo, truncated=True)
        if data[i] != 0xFF:
            return _JpegInfo(mpo=mpo, broken=True)
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return _JpegInfo(mpo=mpo, truncated=True)
        marker = data[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA, 0x00):  # SOI again, EOI or scan data before any frame header
            return _JpegInfo(mpo=mpo, broken=True)
        if i + 2 > n:
            return _JpegInfo(mpo=mpo, truncated=True)
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2:
            return _JpegInfo(mpo=mpo, broken=True)
        if marker == 0xE2 and data[i + 2 : i + 6] == b"MPF\x00":
            mpo = True
        if marker in _SOF_DIMENSIONS or marker in _SOF_OTHER:
            if i + 7 > n:
                return _JpegInfo(mpo=mpo, truncated=True)
            height = int.from_bytes(data[i + 3 : i + 5], "big")
            width = int.from_bytes(data[i + 5 : i + 7], "big")
            if width == 0 or height == 0:  # height 0 = defined later by a DNL marker (rare)
                return _JpegInfo(sof=marker, mpo=mpo)
            return _JpegInfo(width=width, height=height, sof=marker, mpo=mpo)
        i += length


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the SOF0/SOF1/SOF2 frame header (baseline, extended, progressive).

    Works on a prefix of the file (the frame header comes before the image data, after the APPn
    segments such as EXIF and ICC). ``None`` if ``data`` is not such a JPEG or the header is not within
    ``data``.
    """
    info = _jpeg_info(data)
    if info.sof in _SOF_DIMENSIONS and info.width and info.height:
        return info.width, info.height
    return None


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """``size`` and ``limit`` for a message, in bytes when the rounded forms would look equal."""
    a, b = _size(size), _size(limit)
    return (a, b) if a != b else (f"{size:,} bytes", f"{limit:,} bytes")


def check_image(
    head: bytes, size: int, *, role: Literal["feed", "story", "cover"], name: str = "the image"
) -> list[str]:
    """Problems with an image Instagram would refuse, one actionable sentence each.

    ``head`` is the start of the file (``HEAD_BYTES`` is enough for nearly every JPEG; the whole file
    also works), ``size`` its total size in bytes. ``role``: ``feed`` (single image or carousel item:
    aspect ratio 4:5 .. 1.91:1 enforced), ``story`` or ``cover`` (reel cover; 9:16 is only recommended
    for both, so no ratio check). ``name`` is how the messages refer to the file.
    """
    kind = sniff(head)
    if kind == "png":
        return [f"{name} is a PNG; Instagram accepts only JPEG images, so convert it to JPEG"]
    if kind != "jpeg":
        what = "a video" if kind in ("mp4", "mov") else "not an image igpub recognises"
        return [f"{name} is {what}; Instagram accepts only JPEG images here"]

    problems: list[str] = []
    if size > IMAGE_MAX_BYTES:
        got, most = _sizes(size, IMAGE_MAX_BYTES)
        problems.append(
            f"{name} is {got}; Instagram accepts images up to {most}: re-save it at a lower quality or smaller size"
        )
    info = _jpeg_info(head)
    if info.mpo:
        problems.append(f"{name} is a multi-picture JPEG (MPO), which Instagram rejects; re-save it as a plain JPEG")
    if info.sof in _SOF_OTHER:
        problems.append(
            f"{name} uses an unusual JPEG encoding (frame type 0x{info.sof:02X}); "
            "re-save it as a baseline or progressive JPEG"
        )
    elif info.broken or (info.truncated and len(head) >= size):
        problems.append(f"{name} is not a valid JPEG (no frame header found); re-export it")
    elif role == "feed" and info.width and info.height:
        w, h = info.width, info.height
        too_tall = w * FEED_MIN_RATIO[1] < h * FEED_MIN_RATIO[0]
        too_wide = w * FEED_MAX_RATIO[1] > h * FEED_MAX_RATIO[0]
        if too_tall or too_wide:
            problems.append(
                f"{name} is {w}x{h} ({w / h:.2f}:1); Instagram accepts feed images between 4:5 and "
                f"1.91:1, so crop it {'shorter' if too_tall else 'narrower'}"
            )
    return problems


def _moov_before_mdat(head: bytes) -> bool | None:
    """Walk the top-level boxes in ``head``: True if ``moov`` comes before ``mdat``, False if ``mdat``
    comes first, None if neither is reached within ``head``."""
    i, n = 0, len(head)
    while i + 8 <= n:
        size = int.from_bytes(head[i : i + 4], "big")
        box = head[i + 4 : i + 8]
        if box == b"moov":
            return True
        if box == b"mdat":
            return False
        if size == 1:  # 64-bit size follows the type
            if i + 16 > n:
                return None
            size = int.from_bytes(head[i + 8 : i + 16], "big")
        if size < 8:  # 0 = "to the end of the file", or broken
            return None
        i += size
    return None


def mp4_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in ``data[start:end]``, stopping at the first one
    that does not fit (a box that runs past ``data`` ends the walk)."""
    out: list[tuple[bytes, int, int]] = []
    i = start
    while i + 8 <= end:
        size = int.from_bytes(data[i : i + 4], "big")
        box = data[i + 4 : i + 8]
        header = 8
        if size == 1:  # 64-bit size follows the type
            if i + 16 > end:
                break
            size = int.from_bytes(data[i + 8 : i + 16], "big")
            header = 16
        elif size == 0:  # to the end of the enclosing box
            size = end - i
        if size < header:
            break
        out.append((box, i + header, min(i + size, end)))
        i += size
    return out


def mp4_duration(head: bytes) -> float | None:
    """The duration in seconds from the ``moov/mvhd`` box (version 0 or 1) within ``head``, or None when
    ``head`` does not hold it (no moov at the front, or a truncated header)."""
    for box, start, end in mp4_boxes(head, 0, len(head)):
        if box != b"moov":
            continue
        for inner, istart, iend in mp4_boxes(head, start, end):
            if inner != b"mvhd":
                continue
            body = head[istart:iend]
            if len(body) >= 20 and body[0] == 0:
                timescale = int.from_bytes(body[12:16], "big")
                duration = int.from_bytes(body[16:20], "big")
            elif len(body) >= 32 and body[0] == 1:
                timescale = int.from_bytes(body[20:24], "big")
                duration = int.from_bytes(body[24:32], "big")
            else:
                return None
            return duration / timescale if timescale else None
        return None
    return None


def _duration_text(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def check_video(
    head: bytes, size: int, *, role: Literal["reel", "story", "carousel"], name: str = "the video"
) -> list[str]:
    """Problems with a video Instagram would refuse, one actionable sentence each.

    MP4 or MOV (an ``ftyp`` box at the start), at most 300 MiB for reels and carousel items and
    100 MiB for stories, and the ``moov`` atom before the media data ("moov atom at front") when that
    can be seen in ``head``, and a duration within ``VIDEO_SECONDS`` for the role when ``head`` holds the
    ``mvhd`` box. Codec and frame rate need a real parser and are not checked.
    """
    kind = sniff(head)
    if kind not in ("mp4", "mov"):
        what = {"jpeg": "a JPEG image", "png": "a PNG image"}.get(kind, "not an MP4 or MOV file")
        return [f"{name} is {what}; Instagram accepts only MP4 or MOV videos"]
    problems: list[str] = []
    limit = VIDEO_MAX_BYTES[role]
    if size > limit:
        got, most = _sizes(size, limit)
        problems.append(
            f"{name} is {got}; Instagram accepts {role} videos up to {most}: shorten it or lower the bitrate"
        )
    if _moov_before_mdat(head) is False:
        problems.append(
            f"{name} has its index (moov atom) after the media data; Instagram needs it at the front: "
            "re-mux it, e.g. ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4"
        )
    duration = mp4_duration(head)
    shortest, longest = VIDEO_SECONDS[role]
    if duration is not None and not shortest <= duration <= longest:
        fix = "trim it" if duration > longest else "use a longer clip"
        problems.append(
            f"{name} is {duration:.1f} s long; Instagram accepts {role} videos of {_duration_text(shortest)} "
            f"to {_duration_text(longest)}: {fix}"
        )
    return problems
