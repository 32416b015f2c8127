"""Any video ffmpeg reads in (MP4, MOV/ProRes, WebM/VP9, MKV, HEVC, variable frame rate), what Instagram
accepts out: MP4, H.264 (High, 4:2:0, progressive, closed GOP) and AAC (48 kHz, stereo, 128 kbps), ``moov`` at
the front (faststart), a constant 23 .. 60 fps, at most 1920 px wide, within the kind's bitrate and size
(igpub.media.plan). Metadata (GPS of phone videos, device names) is dropped. The duration is never changed:
a video outside its kind's range is refused with the range and its length.

A video that already fits except for the ``moov`` position (or its metadata) is re-muxed without
re-encoding. ffmpeg is the static build that imageio-ffmpeg ships (nothing is downloaded at run time); it
runs as a subprocess on files in the function's ephemeral storage.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from igpub.media.plan import (
    VIDEO_FPS,
    VIDEO_MAX_BITRATE,
    VIDEO_MAX_BYTES,
    VIDEO_MAX_WIDTH,
    VIDEO_SECONDS,
    Fit,
    NoFit,
    VideoRole,
    mb,
    ratio_text,
    video_facts,
)

__all__ = ["Probe", "UnreadableVideo", "VideoRendition", "ffmpeg_exe", "prepare_video", "probe"]

AUDIO_BITRATE = 128_000
# The video bitrate igpub aims at (CRF with a ceiling): well under Instagram's 25 Mbps; lowered further when
# the kind's size limit over the clip's duration asks for it.
VIDEO_CEILING = 10_000_000
TIMEOUT_S = 13 * 60  # within Lambda's 15 minutes, with room to upload the result


class UnreadableVideo(ValueError):
    """ffmpeg cannot read it, or the result would not fit (the message names the file and what to do)."""


@functools.cache
def ffmpeg_exe() -> str:
    """imageio-ffmpeg's binary. A deployment package can lose the file's execute bit (zip tools, and
    Lambda's read-only code folder cannot chmod it): then a copy in the temporary folder is made executable."""
    import imageio_ffmpeg

    binaries = Path(imageio_ffmpeg.__file__).parent / "binaries"
    found = sorted(binaries.glob("ffmpeg-*"))
    if found and not os.access(found[0], os.X_OK):
        copy = Path(tempfile.gettempdir()) / found[0].name
        if not os.access(copy, os.X_OK):
            shutil.copyfile(found[0], copy)
            copy.chmod(0o755)
        return str(copy)
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class Probe:
    container: str
    duration: float | None
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    bitrate: int | None  # bits per second, whole file
    rotation: int = 0


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_BITRATE = re.compile(r"bitrate: (\d+) kb/s")
_VIDEO = re.compile(r"Stream #\d+:\d+[^:]*: Video: (\w+)(.*)")
_AUDIO = re.compile(r"Stream #\d+:\d+[^:]*: Audio: (\w+)")
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[ ,]")
_FPS = re.compile(r", (\d+(?:\.\d+)?) (?:fps|tbr)")
_INPUT = re.compile(r"Input #0, ([\w,]+), from")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


def probe(path: Path, *, exe: str | None = None) -> Probe:
    """What ffmpeg reports about ``path`` (``ffmpeg -i``; imageio-ffmpeg ships no ffprobe)."""
    run = subprocess.run(  # noqa: S603 (a fixed executable and our own temporary file)
        [exe or ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )
    text = run.stderr
    container = _INPUT.search(text)
    video = _VIDEO.search(text)
    if container is None or video is None:
        raise UnreadableVideo("not a video ffmpeg can read")
    d = _DURATION.search(text)
    duration = int(d[1]) * 3600 + int(d[2]) * 60 + float(d[3]) if d else None
    size = _SIZE.search(video[2])
    fps = _FPS.search(video[2])
    audio = _AUDIO.search(text)
    bitrate = _BITRATE.search(text)
    rot = _ROTATION.search(text)
    return Probe(
        container=container[1],
        duration=duration,
        video_codec=video[1],
        audio_codec=audio[1] if audio else None,
        width=int(size[1]) if size else None,
        height=int(size[2]) if size else None,
        fps=float(fps[1]) if fps else None,
        bitrate=int(bitrate[1]) * 1000 if bitrate else None,
        rotation=round(float(rot[1])) % 360 if rot else 0,
    )


@dataclass(frozen=True)
class VideoRendition:
    path: Path
    size: int
    width: int | None
    height: int | None
    fps: float | None
    duration: float | None
    remuxed: bool  # True: streams copied, only the container rewritten
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return ", ".join(self.notes)


def _seconds(s: float) -> str:
    return f"{s / 60:g} min" if s >= 60 else f"{s:g} s"


def check_duration(p: Probe, role: VideoRole, name: str) -> None:
    """Refuse (never trim or stretch) a video outside its kind's duration range."""
    lo, hi = VIDEO_SECONDS[role]
    if p.duration is None:
        raise UnreadableVideo(f"{name}: ffmpeg cannot tell how long it is; re-export it as MP4")
    if not lo <= p.duration <= hi:
        fix = "trim it" if p.duration > hi else "use a longer clip"
        raise NoFit(
            f"{name} is {p.duration:.1f} s long; Instagram takes {role} videos of {_seconds(lo)} to "
            f"{_seconds(hi)}, and igpub never changes a video's length: {fix}"
        )


def _fits_streams(p: Probe, size: int, role: VideoRole) -> bool:
    """Codecs, width, frame rate and bitrate already fine: a re-mux is enough."""
    return (
        p.video_codec in ("h264", "hevc")
        and p.audio_codec in (None, "aac")
        and p.width is not None
        and p.width <= VIDEO_MAX_WIDTH
        and p.fps is not None
        and VIDEO_FPS[0] <= p.fps <= VIDEO_FPS[1]
        and p.rotation == 0
        and (p.bitrate or 0) <= VIDEO_MAX_BITRATE
        and size <= VIDEO_MAX_BYTES[role]
    )


def prepare_video(
    src: Path,
    dst: Path,
    *,
    role: VideoRole,
    name: str = "the video",
    exe: str | None = None,
    target: Fraction | None = None,
    fit: Fit = "pad",
) -> VideoRendition:
    """Write the rendition of ``src`` to ``dst`` (an ``.mp4`` path). ``target``: the ratio a carousel video
    2..n is fitted to (the first item's), by ``fit`` (``pad`` with black bars, or ``crop`` around the centre;
    within 1 % nothing is done). Raises :class:`UnreadableVideo`, or ``igpub.media.plan.NoFit`` when the
    duration is outside the kind's range."""
    exe = exe or ffmpeg_exe()
    try:
        p = probe(src, exe=exe)
    except UnreadableVideo:
        raise UnreadableVideo(f"{name} is not a video ffmpeg can read; export it as MP4 (H.264/AAC)") from None
    check_duration(p, role, name)
    assert p.duration is not None
    size = src.stat().st_size
    with src.open("rb") as f:
        label = video_facts(f.read(64 * 1024)).format.upper()
    label = {"UNKNOWN": p.container.split(",")[0].upper()}.get(label, label)
    notes: list[str] = []
    shape = shape_note = ""
    if target is not None and fit != "refuse" and p.width and p.height:
        dw, dh = (p.height, p.width) if p.rotation in (90, 270) else (p.width, p.height)
        r = Fraction(dw, dh)
        if abs(r - target) > target / 100:
            t = float(target)
            if fit == "pad":
                shape = f"pad='max(iw,ceil(ih*{t:.6f}/2)*2)':'max(ih,ceil(iw/{t:.6f}/2)*2)':(ow-iw)/2:(oh-ih)/2:black,"
            else:
                shape = f"crop='min(iw,floor(ih*{t:.6f}/2)*2)':'min(ih,floor(iw/{t:.6f}/2)*2)',"
            shape_note = f"{ratio_text(r)} {'padded' if fit == 'pad' else 'cropped'} to {ratio_text(target)}"
    remux = _fits_streams(p, size, role) and not shape
    args = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", str(src)]
    args += ["-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1", "-dn", "-sn"]
    if remux:
        args += ["-c", "copy"] + (["-tag:v", "hvc1"] if p.video_codec == "hevc" else [])
        notes.append(f"{label} re-muxed, moov atom at the front")
    else:
        fps = p.fps or 30.0
        out_fps = min(max(round(fps), int(VIDEO_FPS[0])), int(VIDEO_FPS[1]))
        limit_bps = int(VIDEO_MAX_BYTES[role] * 8 * 0.92 / max(p.duration, 0.1)) - AUDIO_BITRATE
        ceiling = max(500_000, min(VIDEO_CEILING, VIDEO_MAX_BITRATE, limit_bps))
        vf = f"{shape}scale='min({VIDEO_MAX_WIDTH},iw)':-2:flags=lanczos,format=yuv420p,fps={out_fps}"
        args += [
            "-vf", vf, "-fps_mode", "cfr",
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-crf", "21",
            "-maxrate", str(ceiling), "-bufsize", str(2 * ceiling),
            "-g", str(2 * out_fps), "-x264-params", "open-gop=0",
            "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ar", "48000", "-ac", "2",
        ]  # fmt: skip
        vc = {"h264": "H.264", "hevc": "HEVC", "vp9": "VP9", "vp8": "VP8", "prores": "ProRes", "av1": "AV1"}
        notes.append(f"{label} {vc.get(p.video_codec or '', p.video_codec)} -> MP4 H.264")
        if p.audio_codec and p.audio_codec != "aac":
            notes.append(f"{p.audio_codec} audio -> AAC")
        if p.fps is None or abs(p.fps - out_fps) > 0.01:
            notes.append(f"{'variable' if p.fps is None else f'{p.fps:g}'} fps -> {out_fps} fps")
        if shape:
            notes.append(shape_note)
        if p.width and p.width > VIDEO_MAX_WIDTH:
            notes.append(f"{p.width} px wide -> {VIDEO_MAX_WIDTH}")
    args += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    try:
        run = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise UnreadableVideo(
            f"{name} takes too long to prepare (over {TIMEOUT_S // 60} min); export it shorter or smaller"
        ) from None
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-1:] or ["no message"]
        raise UnreadableVideo(f"{name} could not be prepared (ffmpeg: {tail[0][:200]}); export it as MP4 (H.264/AAC)")
    out_size = dst.stat().st_size
    if out_size > VIDEO_MAX_BYTES[role]:
        raise UnreadableVideo(
            f"{name} is still {mb(out_size)} after preparing; Instagram takes {role} videos "
            f"up to {mb(VIDEO_MAX_BYTES[role])}"
        )
    out = probe(dst, exe=exe)
    notes.append(f"{p.duration:.1f} s kept")
    notes.append(f"{mb(size)} -> {mb(out_size)}")
    return VideoRendition(
        path=dst, size=out_size, width=out.width, height=out.height, fps=out.fps, duration=out.duration,
        remuxed=remux, notes=notes,
    )  # fmt: skip
