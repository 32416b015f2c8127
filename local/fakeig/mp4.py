"""What Instagram reads from a video's first bytes, the fake's own reader (independent of igpub's): whether the
``moov`` atom comes before the media data, and for the video track its codec (sample entry), width and frame
rate. Meta's IG User Media reference lists "moov atom at front", HEVC or H.264, 23-60 fps and at most 1920 px
wide for Reels and story videos
(https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoInfo:
    mdat_before_moov: bool
    codec: str | None = None
    width: int | None = None
    fps: float | None = None


def _walk(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out, i = [], start
    while i + 8 <= end:
        size, kind = int.from_bytes(data[i : i + 4], "big"), data[i + 4 : i + 8]
        head = 8
        if size == 1 and i + 16 <= end:
            size, head = int.from_bytes(data[i + 8 : i + 16], "big"), 16
        elif size == 0:
            size = end - i
        if size < head:
            break
        out.append((kind, i + head, min(i + size, end)))
        i += size
    return out


def _find(data: bytes, span: tuple[int, int], path: list[bytes]) -> tuple[int, int] | None:
    for kind, s, e in _walk(data, *span):
        if kind == path[0]:
            return (s, e) if len(path) == 1 else _find(data, (s, e), path[1:])
    return None


def read_video_info(data: bytes) -> VideoInfo:
    top = _walk(data, 0, len(data))
    kinds = [k for k, _, _ in top]
    mdat_first = b"mdat" in kinds and (b"moov" not in kinds or kinds.index(b"mdat") < kinds.index(b"moov"))
    moov = next(((s, e) for k, s, e in top if k == b"moov"), None)
    if moov is None:
        return VideoInfo(mdat_before_moov=mdat_first)
    for kind, s, e in _walk(data, *moov):
        if kind != b"trak":
            continue
        hdlr = _find(data, (s, e), [b"mdia", b"hdlr"])
        if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        stsd = _find(data, (s, e), [b"mdia", b"minf", b"stbl", b"stsd"])
        codec = data[stsd[0] + 12 : stsd[0] + 16].decode("latin-1") if stsd else None
        tkhd = _find(data, (s, e), [b"tkhd"])
        width = int.from_bytes(data[tkhd[1] - 8 : tkhd[1] - 6], "big") if tkhd else None
        fps = None
        mdhd = _find(data, (s, e), [b"mdia", b"mdhd"])
        stts = _find(data, (s, e), [b"mdia", b"minf", b"stbl", b"stts"])
        if mdhd and stts:
            body = data[mdhd[0] : mdhd[1]]
            scale = int.from_bytes(body[12:16] if body[0] == 0 else body[20:24], "big")
            entries = data[stts[0] : stts[1]]
            n = int.from_bytes(entries[4:8], "big")
            pairs = [
                (
                    int.from_bytes(entries[8 + 8 * j : 12 + 8 * j], "big"),
                    int.from_bytes(entries[12 + 8 * j : 16 + 8 * j], "big"),
                )
                for j in range(min(n, (len(entries) - 8) // 8))
            ]
            samples, total = sum(c for c, _ in pairs), sum(c * d for c, d in pairs)
            fps = samples * scale / total if scale and total else None
        return VideoInfo(mdat_before_moov=mdat_first, codec=codec, width=width, fps=fps)
    return VideoInfo(mdat_before_moov=mdat_first)
