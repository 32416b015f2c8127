"""Any still image in, what Instagram accepts out: an sRGB baseline JPEG, upright, without metadata, at most
8 MB, 320 .. 1440 px wide, its ratio fitted per ``fit`` (igpub.media.plan has the rules and the geometry).

JPEG, PNG (16-bit, alpha), WebP, GIF (first frame), TIFF, BMP and AVIF are read by Pillow, HEIC/HEIF by
pillow-heif. Transparency is flattened onto white (a logo on a transparent PNG looks as it did). Colour: an
embedded profile (Display P3, Adobe RGB, a CMYK press profile) is converted to sRGB with LittleCMS; CMYK
without a profile goes through Pillow's plain conversion. Nothing of the original's metadata is written: no
EXIF (GPS, camera serials, dates), no XMP, no comments; the output carries no profile, which means sRGB.

This module needs Pillow and pillow-heif, which only the MediaFunction ships.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from fractions import Fraction

from PIL import Image, ImageCms, ImageFilter, ImageOps

from igpub.media.plan import (
    IMAGE_MAX_BYTES,
    MIN_WIDTH,
    Fit,
    Geometry,
    ImageRole,
    fit_geometry,
    item_target,
    mb,
)

__all__ = ["Rendition", "UnreadableImage", "prepare_image", "register_openers"]

QUALITIES = (90, 85, 80, 75, 70, 65)
SCALE_STEP = 0.85  # after the lowest quality: scale down by this factor until it fits (never below MIN_WIDTH)
_SRGB = ImageCms.createProfile("sRGB")
_registered = False


class UnreadableImage(ValueError):
    """Not an image Pillow or pillow-heif can read (the message names the file and what to do)."""


def register_openers() -> None:
    """HEIC/HEIF through pillow-heif (AVIF is Pillow's own since 11.2)."""
    global _registered
    if not _registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _registered = True


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int
    src_format: str
    src_size: tuple[int, int]  # upright, before fitting
    geometry: Geometry
    quality: int
    notes: list[str] = field(default_factory=list)  # what was done, in order

    @property
    def summary(self) -> str:
        return ", ".join(self.notes)


def _open(data: bytes, name: str) -> Image.Image:
    register_openers()
    try:
        img = Image.open(io.BytesIO(data))
        img.seek(0)  # GIF / multi-page TIFF / MPO: the first frame
        img.load()
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"{name} has too many pixels to prepare safely ({exc}); export it smaller") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"{name} is not an image igpub can read ({exc}); export it as JPEG or PNG") from None
    return img


def _to_srgb(img: Image.Image, notes: list[str]) -> Image.Image:
    """RGB (8 bit) in sRGB, transparency flattened onto white."""
    icc = img.info.get("icc_profile")
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit greyscale: scale to 8 bit, do not clip
        img = img.point(lambda v: v * (1 / 256)).convert("L")  # type: ignore[arg-type,operator,unused-ignore]
    elif mode == "F":
        img = img.convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "PA", "La"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa"):
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        img = flat
        notes.append("transparency on white")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            described = ImageCms.getProfileDescription(src).strip()
            if img.mode not in ("RGB", "CMYK", "L"):
                img = img.convert("RGB")
            if img.mode == "L":
                img = img.convert("RGB")
            else:
                if "srgb" not in described.lower():
                    converted = ImageCms.profileToProfile(img, src, _SRGB, outputMode="RGB")
                    if converted is not None:
                        img = converted
                        notes.append(f"{described or 'colour profile'} -> sRGB")
        except (OSError, ImageCms.PyCMSError):
            pass  # a broken profile: fall through to the plain conversion below
    if img.mode == "CMYK":
        notes.append("CMYK -> sRGB")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def _blurred_fill(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picture scaled to cover ``size``, blurred and slightly darkened: the bars look like the photo."""
    w, h = size
    cover = ImageOps.fit(picture, (max(1, w // 8), max(1, h // 8)), method=Image.Resampling.BILINEAR)
    cover = cover.filter(ImageFilter.GaussianBlur(radius=max(2, max(cover.size) // 24)))
    cover = cover.resize(size, Image.Resampling.BILINEAR)
    return Image.eval(cover, lambda v: int(v * 0.85))


def _render(img: Image.Image, g: Geometry, fill: str) -> Image.Image:
    ow, oh = g.out
    kept = img.crop(g.crop) if g.crop != (0, 0, *g.src) else img
    if g.action != "padded":  # kept or cropped: the box becomes the output (its ratio is the output's)
        if kept.size != (ow, oh):
            kept = kept.resize((ow, oh), Image.Resampling.LANCZOS, reducing_gap=3.0)
        return kept
    s = min(ow / kept.width, oh / kept.height)  # the whole picture inside the output, bars around it
    kw, kh = min(ow, max(1, round(kept.width * s))), min(oh, max(1, round(kept.height * s)))
    if (kw, kh) != kept.size:
        kept = kept.resize((kw, kh), Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = _blurred_fill(kept, (ow, oh)) if fill == "blur" else Image.new("RGB", (ow, oh), fill)
    canvas.paste(kept, ((ow - kw) // 2, (oh - kh) // 2))
    return canvas


def _encode(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # baseline (not progressive), 4:2:0, no EXIF / ICC / comment: nothing of the original's metadata
    img.save(out, "JPEG", quality=quality, optimize=True, progressive=False, subsampling="4:2:0")
    return out.getvalue()


def prepare_image(
    data: bytes,
    *,
    role: ImageRole = "feed",
    fit: Fit = "pad",
    focal: tuple[float, float] = (0.5, 0.5),
    fill: str = "blur",
    first: tuple[int, int] | None = None,
    name: str = "the image",
    max_bytes: int = IMAGE_MAX_BYTES,
) -> Rendition:
    """Prepare one image (``data``: the whole file). ``first`` is the first carousel item's output size (items
    2..n take its ratio). ``fill`` is ``blur`` or a colour Pillow knows (``white``, ``#202020``).
    Raises :class:`UnreadableImage`, or ``igpub.media.plan.NoFit`` for ``fit: refuse`` out of range."""
    src = _open(data, name)
    fmt = (src.format or "unknown").upper().replace("MPO", "JPEG")
    notes: list[str] = [] if fmt == "JPEG" else [f"{fmt} -> JPEG"]
    orientation = src.getexif().get(0x0112, 1) if hasattr(src, "getexif") else 1
    img = ImageOps.exif_transpose(src) or src
    if orientation not in (1, None):
        notes.append("turned upright (EXIF orientation)")
    img = _to_srgb(img, notes)
    target, bounds = item_target(role, first)
    g = fit_geometry(img.width, img.height, target=target, bounds=bounds, fit=fit, focal=focal, name=name)
    shaped = g.describe()
    if shaped:
        notes.append(shaped)
    out = _render(img, g, fill)
    quality = QUALITIES[0]
    encoded = _encode(out, quality)
    for q in QUALITIES[1:]:
        if len(encoded) <= max_bytes:
            break
        quality, encoded = q, _encode(out, q)
    while len(encoded) > max_bytes and out.width > MIN_WIDTH:
        w = max(MIN_WIDTH, int(out.width * SCALE_STEP))
        h = max(1, round(out.height * w / out.width))
        if bounds is not None:  # keep the ratio inside the range after rounding
            while Fraction(w, h) > bounds.hi:
                h += 1
            while h > 1 and Fraction(w, h) < bounds.lo:
                h -= 1
        out = out.resize((w, h), Image.Resampling.LANCZOS)
        encoded = _encode(out, quality)
        notes.append(f"scaled to {w}x{h} to stay within {mb(max_bytes)}")
    if len(encoded) > max_bytes:
        raise UnreadableImage(f"{name} does not fit in {mb(max_bytes)} even at {MIN_WIDTH} px wide")
    if any(src.info.get(k) for k in ("exif", "xmp", "XML:com.adobe.xmp", "comment")):
        notes.append("metadata removed")
    notes.append(f"{mb(len(data))} -> {mb(len(encoded))}")
    return Rendition(
        data=encoded,
        width=out.width,
        height=out.height,
        src_format=fmt,
        src_size=(img.width, img.height),
        geometry=g,
        quality=quality,
        notes=notes,
    )
