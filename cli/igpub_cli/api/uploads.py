"""Local media files for a post: the key each will have in the media bucket, and every check that needs no
upload, run before any upload (a refused post leaves nothing in the bucket)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from igpub.publishing import media_check
from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import parse_request
from igpub_cli.api.checks import preflight
from igpub_cli.deployment import Deployment


def upload_key(path: Path, *, prefix: str) -> str:
    """The bucket key ``upload_media`` gives ``path``."""
    return f"{prefix}/{path.name}"


def media_file_problems(path: Path, kind: str = "image") -> list[str]:
    """What Instagram would refuse in a local file for a post of ``kind`` (format, size, aspect ratio, video
    layout), read locally."""
    if not path.is_file():
        return [f"{path}: no such file" if not path.exists() else f"{path}: is a folder, not a file"]
    data = path.read_bytes()
    sniffed = media_check.sniff(data[:65536])
    if sniffed == "jpeg":
        return media_check.check_image(data, len(data), role="story" if kind == "story" else "feed", name=path.name)
    if sniffed in ("mp4", "mov"):
        role: Literal["reel", "story", "carousel"] = (
            "story" if kind == "story" else "carousel" if kind == "carousel" else "reel")
        return media_check.check_video(data[:65536], len(data), role=role, name=path.name)
    return [f"{path.name} is neither a JPEG image nor an MP4/MOV video"]


def check_before_upload(dep: Deployment, data: dict[str, Any], files: list[Path]) -> None:
    """Refuse (``RequestInvalid``, every problem at once) a request whose ``media`` already names the keys the
    ``files`` will be uploaded to: the request's rules (item count, caption, options), the account, the
    hashtag pool, ``publish_at``, and each file's content. Nothing is uploaded or started."""
    problems: list[str] = []
    try:
        parse_request(data, allow_http=dep.local)
    except RequestInvalid as exc:
        problems += exc.problems
    try:
        preflight(dep, account_id=str(data.get("account_id", "")), hashtag_pool=data.get("hashtag_pool"),
                      publish_at=data.get("publish_at"))
    except RequestInvalid as exc:
        problems += [p for p in exc.problems if p not in problems]
    for path in dict.fromkeys(files):
        problems += media_file_problems(path, str(data.get("kind", "image")))
    if problems:
        raise RequestInvalid(problems)
