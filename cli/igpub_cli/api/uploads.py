"""Local media files for a post: the key each will have in the media bucket, and every check that needs no
upload, run before any upload (a refused post leaves nothing in the bucket)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.media_check import HEAD_BYTES
from igpub.publishing.request import infer_media_type, parse_request
from igpub_cli.api.checks import check_files, preflight
from igpub_cli.deployment import Deployment


def upload_key(path: Path, *, prefix: str) -> str:
    """The bucket key ``upload_media`` gives ``path``."""
    return f"{prefix}/{path.name}"


def plan_file(path: Path, *, kind: str = "image", fit: str = "pad", first: tuple[int, int] | None = None,
              index: int = 0) -> tuple[list[str], list[str], tuple[int, int] | None]:
    """What igpub will do to a local file before Instagram sees it (igpub.media.plan, from its first bytes):
    (work, problems, output size when known). Formats, ratios, sizes and codecs igpub fixes are work, not
    problems; ``fit="refuse"`` keeps an out-of-range ratio a problem."""
    from igpub.media import plan
    from igpub.publishing.kinds import KINDS

    check_files([path])
    spec = KINDS[kind]  # type: ignore[index]
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if plan.image_facts(head).format in plan.IMAGE_FORMATS:
        p = plan.plan_image(head, size, role=spec.image_role, fit=fit, first=first if index else None,  # type: ignore[arg-type]
                            name=path.name)
    elif plan.video_facts(head).format != "unknown" or infer_media_type(path.name) == "video":
        p = plan.plan_video(head, size, role=spec.video_role, name=path.name, first=first if index else None,
                            fit=fit)  # type: ignore[arg-type]
    else:
        p = plan.ItemPlan([], [f"{path.name} is neither an image nor a video igpub can read"])
    return p.work, p.problems, p.out


def media_file_problems(path: Path, kind: str = "image", *, fit: str = "pad") -> list[str]:
    """What igpub cannot make fit in a local file for a post of ``kind`` (not an image or video it reads, a
    video outside its duration range, with ``fit="refuse"`` a ratio outside the kind's), read locally.
    Formats, sizes, ratios and codecs igpub fixes are not problems: the MediaFunction prepares them."""
    if not path.is_file():
        return [f"{path}: no such file" if not path.exists() else f"{path}: is a folder, not a file"]
    _, problems, _ = plan_file(path, kind=kind, fit=fit)
    return problems


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
        problems += media_file_problems(path, str(data.get("kind", "image")), fit=str(data.get("fit", "pad")))
    if problems:
        raise RequestInvalid(problems)
