"""What a media item needs before Instagram takes it, and the geometry of fitting a picture: pure functions.

No Pillow and no ffmpeg here: the publisher (which decides whether the MediaFunction runs at all) and the
CLI (which prints what will be done before submitting) read this module only. The specifications are those
of Meta's IG User Media reference
(https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media):

* feed images (single images and carousel items): JPEG, at most 8 MB, aspect ratio 4:5 .. 1.91:1, width
  320 .. 1440 px (Instagram scales others; igpub sends what it would show), sRGB;
* story images: JPEG, at most 8 MB, sRGB (9:16 only recommended: the ratio is kept);
* carousels: every item is cropped by Instagram to the first item's ratio, so igpub fits items 2..n to it
  (https://developers.facebook.com/docs/instagram-platform/content-publishing, "Carousel posts");
* videos: MP4/MOV with the ``moov`` atom at the front, H.264 (or HEVC) video, AAC audio, 23 .. 60 fps, at most
  1920 px wide, at most 25 Mbps; duration 3 s .. 15 min for reels and carousel items, 3 .. 60 s for stories;
  at most 300 MB (reels) or 100 MB (stories). igpub never changes a duration: out of range is refused.

``fit`` is the person's choice per post: ``pad`` (the default: nothing of the picture is lost; a colour or a
blurred copy fills the bars), ``crop`` (around the centre or a focal point ``x,y`` in 0..1), or ``refuse``
(igpub's behaviour before preparation existed: a clear message, nothing published).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from igpub.publishing.media_check import mp4_boxes

__all__ = [
    "FEED_RANGE",
    "IMAGE_MAX_BYTES",
    "MAX_WIDTH",
    "MIN_WIDTH",
    "STORY_RANGE",
    "VIDEO_FPS",
    "VIDEO_MAX_BITRATE",
    "VIDEO_MAX_BYTES",
    "VIDEO_MAX_WIDTH",
    "VIDEO_SECONDS",
    "Fit",
    "Geometry",
    "ImageFacts",
    "NoFit",
    "RatioRange",
    "VideoFacts",
    "fit_geometry",
    "image_facts",
    "image_work",
    "mb",
    "parse_focal_point",
    "ratio_text",
    "video_facts",
    "video_work",
]

Fit = Literal["pad", "crop", "refuse"]
IMAGE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF"})
ImageRole = Literal["feed", "story"]
VideoRole = Literal["reel", "story", "carousel"]

MiB = 1024 * 1024
IMAGE_MAX_BYTES = 8 * MiB  # "8 MB", read as MiB like igpub.publishing.media_check
MIN_WIDTH, MAX_WIDTH = 320, 1440
VIDEO_MAX_WIDTH = 1920
VIDEO_FPS = (23.0, 60.0)
VIDEO_MAX_BITRATE = 25_000_000  # bits per second, VBR
VIDEO_MAX_BYTES: dict[str, int] = {"reel": 300 * MiB, "story": 100 * MiB, "carousel": 300 * MiB}
# Carousel video items: Meta gives no separate range; igpub applies the Reels one (UNCONFIRMED), as media_check.
VIDEO_SECONDS: dict[str, tuple[float, float]] = {"reel": (3.0, 900.0), "story": (3.0, 60.0), "carousel": (3.0, 900.0)}


class NoFit(ValueError):
    """``fit: refuse`` and the picture is outside the range: the message says what to do."""


@dataclass(frozen=True)
class RatioRange:
    """Accepted width/height ratios, inclusive, as exact fractions (no float rounding at the edges)."""

    lo: Fraction
    hi: Fraction

    def contains(self, w: int, h: int) -> bool:
        return self.lo <= Fraction(w, h) <= self.hi

    def text(self) -> str:
        return f"{ratio_text(self.lo)} to {ratio_text(self.hi)}"


FEED_RANGE = RatioRange(Fraction(4, 5), Fraction(191, 100))
# Story images: Meta only recommends 9:16; igpub keeps the ratio within the story video range (0.1:1 .. 10:1),
# so that scaling to 320 .. 1440 px wide never makes a picture taller than a JPEG can be (65,500 px).
STORY_RANGE = RatioRange(Fraction(1, 10), Fraction(10, 1))


def ratio_text(r: Fraction | float) -> str:
    """4:5 for 0.8 (the way Instagram writes the portrait limit), otherwise ``1.91:1``."""
    if r == Fraction(4, 5):
        return "4:5"
    return f"{float(r):.2f}:1"


def mb(n: int) -> str:
    """Bytes for people: ``12.4 MB`` (decimal megabytes, as file managers show them), ``640 KB``."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    return f"{max(1, round(n / 1000))} KB"


def parse_focal_point(text: str | tuple[float, float] | list[float] | None) -> tuple[float, float]:
    """``"0.3,0.6"`` (x from the left, y from the top, both 0..1) -> (0.3, 0.6); None -> the centre."""
    if text is None:
        return (0.5, 0.5)
    if isinstance(text, str):
        parts = text.replace(" ", "").split(",")
        if len(parts) != 2:
            raise ValueError(f"focal_point {text!r} must be x,y (two numbers from 0 to 1, e.g. 0.5,0.3)")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"focal_point {text!r} must be x,y (two numbers from 0 to 1, e.g. 0.5,0.3)") from None
    else:
        x, y = float(text[0]), float(text[1])
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) or math.isnan(x) or math.isnan(y):
        raise ValueError(f"focal_point {x},{y} is outside the picture: x and y go from 0 to 1")
    return (x, y)


# ------------------------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class Geometry:
    """How a ``src`` picture (already upright) becomes the output.

    ``crop`` is the box kept from the source (left, top, right, bottom); ``canvas`` the size before scaling
    (the crop box, or larger when padded), with the kept box pasted at ``offset``; ``out`` the final size.
    """

    src: tuple[int, int]
    crop: tuple[int, int, int, int]
    canvas: tuple[int, int]
    offset: tuple[int, int]
    out: tuple[int, int]
    action: Literal["kept", "padded", "cropped"]
    goal: Fraction | None = None  # the ratio aimed at when padded or cropped (the output keeps it exactly)

    def describe(self) -> str:
        """``3.00:1 padded to 1.91:1`` / ``cropped`` / ``''`` when the ratio was kept; then the scaling."""
        parts: list[str] = []
        sw, sh = self.src
        if self.action != "kept":
            cw, ch = self.canvas
            goal = self.goal if self.goal is not None else Fraction(cw, ch)
            parts.append(f"{ratio_text(Fraction(sw, sh))} {self.action} to {ratio_text(goal)}")
        if self.out[0] != self.canvas[0]:
            parts.append(
                f"{'scaled down' if self.out[0] < self.canvas[0] else 'scaled up'} to {self.out[0]}x{self.out[1]}"
            )
        return ", ".join(parts)


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def fit_geometry(
    w: int,
    h: int,
    *,
    target: RatioRange | None,
    fit: Fit = "pad",
    focal: tuple[float, float] = (0.5, 0.5),
    bounds: RatioRange | None = None,
    widths: tuple[int, int] = (MIN_WIDTH, MAX_WIDTH),
    name: str = "the image",
) -> Geometry:
    """The geometry that brings a ``w`` x ``h`` picture's ratio into ``target`` and its width into ``widths``.

    ``target`` None keeps any ratio (stories). ``bounds`` (default ``target``) is the hard range the final,
    scaled size must stay in, even after rounding (a carousel item aims at the first item's exact ratio,
    ``target`` = [r0, r0], within ``bounds`` = the feed range). ``fit: refuse`` raises :class:`NoFit` when the
    ratio is outside ``target``.
    """
    if w < 1 or h < 1:
        raise ValueError(f"{name} has no pixels ({w}x{h})")
    bounds = bounds or target
    crop = (0, 0, w, h)
    canvas = (w, h)
    offset = (0, 0)
    action: Literal["kept", "padded", "cropped"] = "kept"
    goal: Fraction | None = None
    if target is not None and not target.contains(w, h):
        r = Fraction(w, h)
        too_wide = r > target.hi
        if fit == "refuse":
            raise NoFit(
                f"{name} is {w}x{h} ({ratio_text(r)}); Instagram accepts {target.text()} here, so crop it "
                f"{'narrower' if too_wide else 'shorter'}, or let igpub do it (fit: pad or fit: crop)"
            )
        fx, fy = focal
        if too_wide:
            goal = target.hi
            if fit == "pad":
                ch = max(h, math.ceil(w * goal.denominator / goal.numerator))
                canvas, offset, action = (w, ch), (0, (ch - h) // 2), "padded"
            else:
                cw = _clamp(math.floor(h * goal.numerator / goal.denominator), 1, w)
                left = _clamp(round(fx * w - cw / 2), 0, w - cw)
                crop, canvas, action = (left, 0, left + cw, h), (cw, h), "cropped"
        else:
            goal = target.lo
            if fit == "pad":
                cw = max(w, math.ceil(h * goal.numerator / goal.denominator))
                canvas, offset, action = (cw, h), ((cw - w) // 2, 0), "padded"
            else:
                ch = _clamp(math.floor(w * goal.denominator / goal.numerator), 1, h)
                top = _clamp(round(fy * h - ch / 2), 0, h - ch)
                crop, canvas, action = (0, top, w, top + ch), (w, ch), "cropped"
    out = _scaled(canvas, widths, bounds, goal)
    return Geometry(src=(w, h), crop=crop, canvas=canvas, offset=offset, out=out, action=action, goal=goal)


def _scaled(
    canvas: tuple[int, int], widths: tuple[int, int], bounds: RatioRange | None, goal: Fraction | None = None
) -> tuple[int, int]:
    cw, ch = canvas
    ow = _clamp(cw, *widths)
    # padded or cropped: the exact goal ratio (a small canvas's integer rounding would be magnified by scaling)
    oh = max(1, round(ow / goal if goal is not None else ch * ow / cw))
    if bounds is not None:  # rounding the height must not step outside the range
        while Fraction(ow, oh) > bounds.hi:
            oh += 1
        while oh > 1 and Fraction(ow, oh) < bounds.lo:
            oh -= 1
    return ow, oh


def item_target(role: ImageRole, first: tuple[int, int] | None) -> tuple[RatioRange | None, RatioRange | None]:
    """(target, bounds) for an image: feed images aim at the feed range, carousel items 2..n at the first
    item's ratio (``first``: its output size) within the feed range; stories keep their ratio (within
    ``STORY_RANGE``)."""
    if role == "story":
        return STORY_RANGE, STORY_RANGE
    if first is None:
        return FEED_RANGE, FEED_RANGE
    r0 = carousel_ratio(first)  # a 9:16 video first: the nearest feed ratio
    return RatioRange(r0, r0), FEED_RANGE


# --------------------------------------------------------------------------- what a file needs (head)


@dataclass(frozen=True)
class ImageFacts:
    """What the first bytes of an image file tell: its format and, for a JPEG, what Instagram cares about."""

    format: str  # JPEG, PNG, WEBP, GIF, TIFF, HEIF, AVIF, BMP or unknown
    width: int | None = None
    height: int | None = None
    progressive: bool = False
    components: int | None = None  # 4 = CMYK/YCCK
    exif: bool = False  # an APP1 Exif segment: orientation, GPS, camera serials ...
    icc: bool = False  # an embedded colour profile (often Display P3 from phones, or Adobe RGB)
    mpo: bool = False  # a multi-picture (MPO) file, which Instagram rejects
    odd_encoding: bool = False  # lossless / arithmetic / hierarchical JPEG


_SOF_DIMENSIONS = {0xC0, 0xC1, 0xC2}
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _format(head: bytes) -> str:
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"GIF8",):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "WEBM" if b"webm" in head[:64] else "MKV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIF"
    return "unknown"


def image_facts(head: bytes) -> ImageFacts:
    """Format, size and the JPEG segments that matter, from the first bytes of a file (64 KiB is plenty)."""
    fmt = _format(head)
    if fmt == "PNG" and len(head) >= 24:
        return ImageFacts(
            format=fmt, width=int.from_bytes(head[16:20], "big"), height=int.from_bytes(head[20:24], "big")
        )
    if fmt != "JPEG":
        return ImageFacts(format=fmt)
    exif = icc = mpo = False
    i, n = 2, len(head)
    while i < n:
        if head[i] != 0xFF:
            break
        while i < n and head[i] == 0xFF:
            i += 1
        if i >= n:
            break
        marker = head[i]
        i += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA, 0x00) or i + 2 > n:
            break
        length = int.from_bytes(head[i : i + 2], "big")
        body = head[i + 2 : i + length]
        if marker == 0xE1 and body.startswith(b"Exif\x00"):
            exif = True
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
            icc = True
        elif marker == 0xE2 and body.startswith(b"MPF\x00"):
            mpo = True
        elif marker in _SOF_DIMENSIONS or marker in _SOF_OTHER:
            if len(body) < 6:
                break
            height = int.from_bytes(body[1:3], "big")
            width = int.from_bytes(body[3:5], "big")
            return ImageFacts(
                format=fmt,
                width=width or None,
                height=height or None,
                progressive=marker == 0xC2,
                components=body[5],
                exif=exif,
                icc=icc,
                mpo=mpo,
                odd_encoding=marker in _SOF_OTHER,
            )
        if length < 2:
            break
        i += length
    return ImageFacts(format=fmt, exif=exif, icc=icc, mpo=mpo)


def image_work(
    facts: ImageFacts,
    size: int,
    *,
    role: ImageRole,
    fit: Fit,
    first: tuple[int, int] | None = None,
) -> list[str]:
    """What igpub would do to this image, one short phrase each; empty when Instagram takes it as it is.

    ``first`` is the first carousel item's output size (items 2..n are fitted to its ratio). With ``fit:
    refuse`` the ratio is never changed (an out-of-range ratio is then refused by the checks), but format, size,
    orientation and metadata are still prepared.
    """
    work: list[str] = []
    if facts.format != "JPEG":
        work.append(f"{facts.format} -> JPEG")
    else:
        if facts.mpo:
            work.append("multi-picture JPEG -> plain JPEG")
        if facts.odd_encoding:
            work.append("re-encoded as a baseline JPEG")
        if facts.components == 4:
            work.append("CMYK -> sRGB")
        elif facts.icc:
            work.append("colour profile -> sRGB")
        if facts.exif:
            work.append("orientation applied, metadata removed")
        if size > IMAGE_MAX_BYTES:
            work.append(f"{mb(size)} -> at most {mb(IMAGE_MAX_BYTES)}")
    if facts.width and facts.height:
        target, _ = item_target(role, first)
        r = Fraction(facts.width, facts.height)
        if target is not None and not target.contains(facts.width, facts.height) and fit != "refuse":
            goal = target.hi if r > target.hi else target.lo
            if first is None:
                work.append(f"{ratio_text(r)} {'padded' if fit == 'pad' else 'cropped'} to {ratio_text(goal)}")
            else:
                work.append(
                    f"{ratio_text(r)} {'padded' if fit == 'pad' else 'cropped'} to the first item's {ratio_text(goal)}"
                )
        if not MIN_WIDTH <= facts.width <= MAX_WIDTH:
            work.append(f"{facts.width} px wide -> {_clamp(facts.width, MIN_WIDTH, MAX_WIDTH)}")
    return work


@dataclass(frozen=True)
class VideoFacts:
    """What the ``moov`` box in a video's first bytes tells (None where it is not in ``head``)."""

    format: str  # mp4, mov, or the image format / unknown
    moov_first: bool | None = None
    video_codec: str | None = None  # sample entry: avc1, hvc1, hev1, vp09, apcn (ProRes) ...
    audio_codec: str | None = None  # mp4a, Opus, lpcm ...
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration: float | None = None
    tracks: list[str] = field(default_factory=list)


def _child(data: bytes, start: int, end: int, name: bytes) -> tuple[int, int] | None:
    for box, s, e in mp4_boxes(data, start, end):
        if box == name:
            return s, e
    return None


def video_facts(head: bytes) -> VideoFacts:
    """Container, codecs, width, frame rate and duration from the ``moov`` box, when ``head`` holds it."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return VideoFacts(format=_format(head).lower())
    fmt = "mov" if head[8:12] == b"qt  " else "mp4"
    top = mp4_boxes(head, 0, len(head))
    names = [b for b, _, _ in top]
    moov_first: bool | None = None
    if b"moov" in names:
        moov_first = b"mdat" not in names or names.index(b"moov") < names.index(b"mdat")
    elif b"mdat" in names:
        moov_first = False
    moov = next(((s, e) for b, s, e in top if b == b"moov"), None)
    if moov is None:
        return VideoFacts(format=fmt, moov_first=moov_first)
    duration = None
    mvhd = _child(head, *moov, b"mvhd")
    if mvhd is not None:
        body = head[mvhd[0] : mvhd[1]]
        if len(body) >= 20 and body[0] == 0:
            ts, d = int.from_bytes(body[12:16], "big"), int.from_bytes(body[16:20], "big")
            duration = d / ts if ts else None
        elif len(body) >= 32 and body[0] == 1:
            ts, d = int.from_bytes(body[20:24], "big"), int.from_bytes(body[24:32], "big")
            duration = d / ts if ts else None
    vcodec = acodec = None
    width = height = None
    fps = None
    tracks: list[str] = []
    for box, s, e in mp4_boxes(head, *moov):
        if box != b"trak":
            continue
        mdia = _child(head, s, e, b"mdia")
        if mdia is None:
            continue
        hdlr = _child(head, *mdia, b"hdlr")
        handler = head[hdlr[0] + 8 : hdlr[0] + 12] if hdlr else b""
        stsd_entry = None
        timescale = None
        mdhd = _child(head, *mdia, b"mdhd")
        if mdhd is not None:
            body = head[mdhd[0] : mdhd[1]]
            timescale = int.from_bytes(body[12:16] if body[:1] == b"\x00" else body[20:24], "big") or None
        stbl = None
        minf = _child(head, *mdia, b"minf")
        if minf is not None:
            stbl = _child(head, *minf, b"stbl")
        if stbl is not None:
            stsd = _child(head, *stbl, b"stsd")
            if stsd is not None and stsd[1] - stsd[0] >= 16:
                stsd_entry = head[stsd[0] + 12 : stsd[0] + 16].decode("latin-1")
        if handler == b"vide":
            tracks.append("video")
            vcodec = stsd_entry
            tkhd = _child(head, s, e, b"tkhd")
            if tkhd is not None and tkhd[1] - tkhd[0] >= 8:
                width = int.from_bytes(head[tkhd[1] - 8 : tkhd[1] - 6], "big")
                height = int.from_bytes(head[tkhd[1] - 4 : tkhd[1] - 2], "big")
            if stbl is not None and timescale:
                stts = _child(head, *stbl, b"stts")
                if stts is not None:
                    body = head[stts[0] : stts[1]]
                    entries = int.from_bytes(body[4:8], "big")
                    samples = delta_sum = 0
                    for k in range(min(entries, (len(body) - 8) // 8)):
                        count = int.from_bytes(body[8 + 8 * k : 12 + 8 * k], "big")
                        delta = int.from_bytes(body[12 + 8 * k : 16 + 8 * k], "big")
                        samples += count
                        delta_sum += count * delta
                    if samples and delta_sum:
                        fps = samples * timescale / delta_sum
        elif handler == b"soun":
            tracks.append("audio")
            acodec = stsd_entry
    return VideoFacts(
        format=fmt,
        moov_first=moov_first,
        video_codec=vcodec,
        audio_codec=acodec,
        width=width,
        height=height,
        fps=fps,
        duration=duration,
        tracks=tracks,
    )


_GOOD_VIDEO = {"avc1", "avc3", "hvc1", "hev1"}


def video_work(facts: VideoFacts, size: int, *, role: VideoRole) -> list[str]:
    """What igpub would do to this video (empty: Instagram takes it as it is). Unknown facts (a ``moov`` box
    beyond ``head``, or a container other than MP4/MOV) mean a transcode: ffmpeg finds out."""
    if facts.format not in ("mp4", "mov"):
        return [f"{facts.format.upper()} -> H.264/AAC MP4"]
    work: list[str] = []
    if facts.moov_first is not True:
        work.append("moov atom moved to the front")
    if facts.video_codec is not None and facts.video_codec not in _GOOD_VIDEO:
        work.append(f"{facts.video_codec.strip()} -> H.264")
    if facts.audio_codec is not None and facts.audio_codec != "mp4a":
        work.append(f"{facts.audio_codec.strip()} audio -> AAC")
    if facts.width is not None and facts.width > VIDEO_MAX_WIDTH:
        work.append(f"{facts.width} px wide -> {VIDEO_MAX_WIDTH}")
    if facts.fps is not None and not VIDEO_FPS[0] - 0.01 <= facts.fps <= VIDEO_FPS[1] + 0.01:
        work.append(f"{facts.fps:.0f} fps -> {_clamp(round(facts.fps), 23, 60)} fps")
    if size > VIDEO_MAX_BYTES[role]:
        work.append(f"{mb(size)} -> at most {mb(VIDEO_MAX_BYTES[role])}")
    elif facts.duration and size * 8 / facts.duration > VIDEO_MAX_BITRATE:
        work.append(f"{size * 8 / facts.duration / 1e6:.0f} Mbps -> at most {VIDEO_MAX_BITRATE // 1_000_000} Mbps")
    return work


# ------------------------------------------------------------------------------------- a whole post


@dataclass(frozen=True)
class ItemPlan:
    """What igpub will do to one media item (``work``, empty: nothing), what it refuses (``problems``), and the
    item's output size when the first bytes tell it (None: known only once prepared)."""

    work: list[str]
    problems: list[str]
    out: tuple[int, int] | None = None


def plan_image(
    head: bytes, size: int, *, role: ImageRole, fit: Fit, first: tuple[int, int] | None, name: str
) -> ItemPlan:
    facts = image_facts(head)
    work = image_work(facts, size, role=role, fit=fit, first=first)
    if facts.format == "unknown":
        return ItemPlan([], [f"{name} is not an image igpub can read; export it as JPEG or PNG"])
    out = None
    problems: list[str] = []
    if facts.width and facts.height:
        target, bounds = item_target(role, first)
        try:
            g = fit_geometry(facts.width, facts.height, target=target, bounds=bounds, fit=fit, name=name)
            out = g.out
        except NoFit as exc:
            problems.append(str(exc))
    return ItemPlan(work, problems, out)


def carousel_ratio(first: tuple[int, int]) -> Fraction:
    """The ratio items 2..n of a carousel are fitted to: the first item's, within the feed range."""
    return min(max(Fraction(*first), FEED_RANGE.lo), FEED_RANGE.hi)


def plan_video(
    head: bytes,
    size: int,
    *,
    role: VideoRole,
    name: str,
    first: tuple[int, int] | None = None,
    fit: Fit = "pad",
) -> ItemPlan:
    """``first``: the first carousel item's size (a carousel video 2..n is fitted to its ratio, within 1 %)."""
    facts = video_facts(head)
    if facts.format in ("jpeg", "png", "gif", "webp", "tiff", "bmp", "heif", "avif"):
        return ItemPlan([], [f"{name} is an image ({facts.format.upper()}), not a video"])
    problems: list[str] = []
    lo, hi = VIDEO_SECONDS[role]
    if facts.duration is not None and not lo <= facts.duration <= hi:
        fix = "trim it" if facts.duration > hi else "use a longer clip"
        problems.append(
            f"{name} is {facts.duration:.1f} s long; Instagram takes {role} videos of {_seconds(lo)} to "
            f"{_seconds(hi)}, and igpub never changes a video's length: {fix}"
        )
    out = (facts.width, facts.height) if facts.width and facts.height else None
    work = video_work(facts, size, role=role)
    if first is not None and out is not None and fit != "refuse":
        r, r0 = Fraction(*out), carousel_ratio(first)
        if abs(r - r0) > r0 / 100:
            verb = "padded" if fit == "pad" else "cropped"
            work.append(f"{ratio_text(r)} {verb} to the first item's {ratio_text(r0)}")
    return ItemPlan(work, problems, out)


def _seconds(s: float) -> str:
    return f"{s / 60:g} min" if s >= 60 else f"{s:g} s"
