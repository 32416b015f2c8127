"""Download and inspect media the way Instagram does at container creation ("We cURL media")."""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx
from PIL import Image, UnidentifiedImageError

from fakeig.cdn import read_mp4_duration
from fakeig.http import GraphError
from fakeig.mp4 import read_video_info
from fakeig.tls import tls_context

_KEEP_VIDEO_BYTES = 256 * 1024


@dataclass
class Problem:
    code: int
    subcode: int
    message: str
    title: str
    user_msg: str
    status_text: str  # the container's "status" field when it ends in ERROR

    def error(self) -> GraphError:
        return GraphError(self.code, self.message, self.subcode, user_title=self.title, user_msg=self.user_msg)


@dataclass
class Fetched:
    data: bytes  # whole body for images, the first bytes for videos
    size: int


def fetch_problem(url: str) -> Problem:
    return Problem(
        9004,
        2207052,
        "Only photo or video can be accepted as media type.",
        "Media download has failed.",
        f"The media could not be fetched from this uri: {url}",
        "Error: Media download has failed. (2207052)",
    )


def timeout_problem() -> Problem:
    return Problem(
        -2,
        2207003,
        "It takes too long to download the media.",
        "Timeout",
        "It takes too long to download the media.",
        "Error: It takes too long to download the media. (2207003)",
    )


def fetch(url: str, max_bytes: int, timeout: float, keep: int | None = None) -> Fetched | Problem:
    """GET ``url``; stop once more than ``max_bytes`` arrived (the size is then ``max_bytes + 1``)."""
    try:
        url.encode("ascii")
    except UnicodeEncodeError:
        return fetch_problem(url)
    if not url.startswith(("http://", "https://")):
        return fetch_problem(url)
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, verify=tls_context()) as client,
            client.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                return fetch_problem(url)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return Fetched(b"", int(declared))
            chunks: list[bytes] = []
            kept = 0
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if keep is None or kept < keep:
                    chunks.append(chunk)
                    kept += len(chunk)
                if size > max_bytes:
                    break
            return Fetched(b"".join(chunks), size)
    except httpx.TimeoutException:
        return timeout_problem()
    except httpx.HTTPError:
        return fetch_problem(url)


def check_image(
    fetched: Fetched, max_bytes: int, min_ratio: float, max_ratio: float, check_ratio: bool
) -> Problem | None:
    if fetched.size > max_bytes:
        mib = max_bytes / (1024 * 1024)
        return Problem(
            36000,
            2207004,
            "The image size is too large.",
            "Image size too large",
            f"The image is too large to download. It should be less than {mib:g} MiB.",
            "Error: The image size is too large. (2207004)",
        )
    data = fetched.data
    if not data.startswith(b"\xff\xd8\xff"):
        fmt = _image_format(data)
        return Problem(
            36001,
            2207005,
            "The image format is not supported.",
            "Unsupported format",
            f"The image format {fmt} is not supported. Supported formats are: JPEG",
            "Error: The image format is not supported. (2207005)",
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError):
        return Problem(
            36001,
            2207005,
            "The image format is not supported.",
            "Unsupported format",
            "The image could not be decoded. Supported formats are: JPEG",
            "Error: The image format is not supported. (2207005)",
        )
    ratio = width / height
    if check_ratio and not (min_ratio - 1e-9 <= ratio <= max_ratio + 1e-9):
        return Problem(
            36003,
            2207009,
            "The aspect ratio is not supported.",
            "Cannot publish image",
            f"The submitted image with aspect ratio ('{width}/{height}') cannot be published. "
            "Please submit an image with a valid aspect ratio.",
            "Error: The aspect ratio is not supported. (2207009)",
        )
    return None


def _image_format(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "PNG"
    if data.startswith(b"GIF8"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return "unknown"


def is_video(data: bytes) -> bool:
    """MP4/MOV signature: the first box is ``ftyp`` (or a QuickTime ``moov``/``mdat``/``wide``/``free``)."""
    return len(data) >= 8 and data[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def duration_problem(seconds: float, shortest: float, longest: float) -> Problem:
    """A video outside its kind's duration range: the container ends in ERROR (Meta documents the ranges on
    https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media
    but not the error; the texts here are the fake's own, UNCONFIRMED)."""
    return Problem(
        352,
        2207026,
        "The video duration is not supported.",
        "Unsupported video duration",
        f"The video is {seconds:.1f} seconds long; it must be {shortest:g} to {longest:g} seconds long.",
        f"Error: The video is {seconds:.1f} seconds long; this kind of video must be {shortest:g} to "
        f"{longest:g} seconds long.",
    )


def check_video(
    fetched: Fetched, max_bytes: int, seconds: tuple[float, float] | None = None, *, spec_checks: bool = True
) -> Problem | None:
    """Format and size; with ``seconds`` (shortest, longest) also the duration read from the ``mvhd`` box
    (a video whose duration cannot be read passes, as the fake cannot tell)."""
    if not is_video(fetched.data):
        return Problem(
            352,
            2207026,
            "The video format is not supported. Please check spec for supported format.",
            "Unsupported video format",
            "The video format is not supported. Supported formats are: MOV, MP4",
            "Error: The video format is not supported. (2207026)",
        )
    if fetched.size > max_bytes:
        return Problem(
            352,
            2207026,
            "The video file is too large.",
            "Video too large",
            f"The video is larger than the maximum of {max_bytes} bytes.",
            f"Error: The video file is larger than the maximum of {max_bytes} bytes. (2207026)",
        )
    duration = read_mp4_duration(fetched.data) if seconds is not None else None
    if seconds is not None and duration is not None and not seconds[0] <= duration <= seconds[1]:
        return duration_problem(duration, *seconds)
    return video_spec_problem(fetched.data) if spec_checks else None


_CODECS = ("avc1", "avc3", "hvc1", "hev1")


def video_spec_problem(data: bytes) -> Problem | None:
    """The stream specs Meta lists (moov at the front, H.264/HEVC, 23-60 fps, at most 1920 px wide), as far as
    the first bytes show them. Meta documents the specs but not the errors: the texts are the fake's own
    (UNCONFIRMED); the code is the one of the other video format errors (352/2207026)."""
    info = read_video_info(data)
    why = None
    if info.mdat_before_moov:
        why = "The moov atom must be at the front of the file (faststart)."
    elif info.codec is not None and info.codec not in _CODECS:
        why = f"The video codec {info.codec.strip()} is not supported. Supported codecs are: H.264, HEVC"
    elif info.fps is not None and not 23 - 0.01 <= info.fps <= 60 + 0.01:
        why = f"The frame rate {info.fps:.2f} fps is not supported. It must be 23 to 60 fps."
    elif info.width is not None and info.width > 1920:
        why = f"The video is {info.width} px wide; the maximum is 1920 px."
    if why is None:
        return None
    return Problem(
        352,
        2207026,
        "The video format is not supported. Please check spec for supported format.",
        "Unsupported video format",
        why,
        f"Error: {why} (2207026)",
    )


def video_duration(fetched: Fetched, default: float) -> float:
    duration = read_mp4_duration(fetched.data)
    return duration if duration is not None else default


KEEP_VIDEO_BYTES = _KEEP_VIDEO_BYTES
