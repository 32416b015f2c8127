"""The ``/cdn/...`` media host: generated test media.

* ``/cdn/image*.jpg?w=1080&h=1350`` a real JPEG (Pillow), also ``.png``, ``.gif``, ``.webp``
* ``/cdn/big*.jpg?mb=9`` a real JPEG padded after its EOI marker to ``mb`` MiB
* ``/cdn/video*.mp4?seconds=10&mb=1`` ``ftyp`` + ``moov/mvhd`` (with the duration) + ``mdat`` padding;
  ``.mov`` gets a QuickTime brand
* ``/cdn/missing*`` and anything unknown: 404; any URL with ``?status=NNN`` answers that status
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Iterator
from functools import lru_cache

from PIL import Image

from fakeig.http import Request, Response

_CHUNK = 1024 * 1024
_CACHE_LIMIT = 16 * 1024 * 1024
_lock = threading.Lock()

_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}


def _int(value: str | None, default: int) -> int:
    try:
        return int(float(value)) if value is not None else default
    except ValueError:
        return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


@lru_cache(maxsize=64)
def make_image(width: int, height: int, fmt: str, seed: int = 0) -> bytes:
    """A small gradient image; deterministic for its arguments."""
    img = Image.new("RGB", (width, height), ((seed * 37) % 256, 120, 200))
    # A cheap pattern so the JPEG is not a single flat colour.
    step = max(1, min(width, height) // 8)
    for i in range(0, min(width, height), step):
        img.paste((255 - (i * 3) % 256, (i * 7) % 256, (seed * 11 + i) % 256), (i, i, i + step, i + step))
    buf = io.BytesIO()
    pil_fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}[fmt]
    if pil_fmt == "JPEG":
        img.save(buf, pil_fmt, quality=85)
    else:
        img.save(buf, pil_fmt)
    return buf.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def video_header(seconds: float, brand: bytes = b"isom") -> bytes:
    """``ftyp`` + ``moov`` holding an ``mvhd`` with timescale 1000 and the duration."""
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"iso2mp41")
    mvhd_payload = (
        struct.pack(">B3s", 0, b"\0\0\0")  # version 0, flags
        + struct.pack(">IIII", 0, 0, 1000, int(seconds * 1000))  # ctime, mtime, timescale, duration
        + struct.pack(">IH", 0x00010000, 0x0100)  # rate, volume
        + b"\0" * 10
        + b"\0" * 36  # matrix
        + b"\0" * 24
        + struct.pack(">I", 2)
    )
    moov = _box(b"moov", _box(b"mvhd", mvhd_payload))
    return ftyp + moov


def read_mp4_duration(data: bytes) -> float | None:
    """Duration in seconds from the first ``moov/mvhd`` box in ``data`` (None if not found)."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size < 8:
            return None
        if kind == b"moov":
            inner = pos + 8
            end = min(pos + size, len(data))
            while inner + 8 <= end:
                isize, ikind = struct.unpack(">I4s", data[inner : inner + 8])
                if isize < 8:
                    return None
                if ikind == b"mvhd":
                    body = data[inner + 8 : inner + isize]
                    if len(body) < 20:
                        return None
                    if body[0] == 1:
                        if len(body) < 32:
                            return None
                        timescale, duration = struct.unpack(">IQ", body[20:32])
                    else:
                        timescale, duration = struct.unpack(">II", body[12:20])
                    return duration / timescale if timescale else None
                inner += isize
            return None
        pos += size
    return None


def _padded(header: bytes, total: int) -> tuple[int, Iterator[bytes]]:
    total = max(total, len(header) + 8)
    pad = total - len(header) - 8
    mdat = struct.pack(">I", 8 + pad) + b"mdat"

    def chunks() -> Iterator[bytes]:
        yield header + mdat
        left = pad
        zero = b"\0" * _CHUNK
        while left > 0:
            n = min(left, _CHUNK)
            yield zero[:n]
            left -= n

    return total, chunks()


def _padded_image(image: bytes, total: int) -> tuple[int, Iterator[bytes]]:
    total = max(total, len(image))

    def chunks() -> Iterator[bytes]:
        yield image
        left = total - len(image)
        zero = b"\0" * _CHUNK
        while left > 0:
            n = min(left, _CHUNK)
            yield zero[:n]
            left -= n

    return total, chunks()


def _stream_response(length: int, chunks: Iterator[bytes], ctype: str, head: bool) -> Response:
    if length <= _CACHE_LIMIT:
        body = b"" if head else b"".join(chunks)
        resp = Response(status=200, body=body, content_type=ctype)
        if head:
            resp.headers["Content-Length"] = str(length)
        return resp
    resp = Response(status=200, content_type=ctype, stream=None if head else chunks, stream_length=length)
    resp.headers["Content-Length"] = str(length)
    return resp


def handle_cdn(req: Request) -> Response:
    name = req.route.rsplit("/", 1)[-1]
    stem, _, ext = name.rpartition(".")
    ext = ext.lower()
    q = req.query
    head = req.method == "HEAD"
    status = _int(q.get("status"), 200)
    if status != 200:
        return Response(status=status, body=b"error", content_type="text/plain")
    if not stem or stem.startswith("missing") or ext not in _CONTENT_TYPES:
        return Response(status=404, body=b"Not Found", content_type="text/plain")
    ctype = _CONTENT_TYPES[ext]
    seed = _int(q.get("seed"), 0)
    if stem.startswith(("image", "big")) and ext in ("jpg", "jpeg", "png", "gif", "webp"):
        w = max(1, min(_int(q.get("w"), 1080), 6000))
        h = max(1, min(_int(q.get("h"), 1080), 6000))
        with _lock:
            image = make_image(w, h, ext, seed)
        mb = _float(q.get("mb"), 0.0)
        if mb > 0 or stem.startswith("big"):
            target = int((mb or 9) * 1024 * 1024)
            length, chunks = _padded_image(image, target)
            return _stream_response(length, chunks, ctype, head)
        return Response(status=200, body=b"" if head else image, content_type=ctype,
                        headers={"Content-Length": str(len(image))} if head else {})
    if stem.startswith("video") and ext in ("mp4", "mov"):
        seconds = _float(q.get("seconds"), 10.0)
        mb = _float(q.get("mb"), 1.0)
        header = video_header(seconds, b"qt  " if ext == "mov" else b"isom")
        length, chunks = _padded(header, int(mb * 1024 * 1024))
        return _stream_response(length, chunks, ctype, head)
    return Response(status=404, body=b"Not Found", content_type="text/plain")
