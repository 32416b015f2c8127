"""The PrepareMedia task (functions/media): make every media item of a post fit what Instagram accepts.

For each item that needs work (igpub.media.plan decides from its first bytes; a URL only with ``prepare:
true``), read the original (a bucket key; a URL is first fetched under igpub.media.fetch's SSRF rules and kept
in the bucket under ``fetched/<post id>/``), prepare it (igpub.media.images / igpub.media.video) and write the
rendition next to the original (``<original key>.ig.jpg`` / ``.ig.mp4``). The post record's request then names
the rendition (so the containers use its presigned URL) and ``media_prepared`` lists both keys and what was
done. The original is never changed.

The task answers the state machine with the status the Prepare task had deferred (``ready`` or ``scheduled``
with ``publish_at``), or ``failed`` with a reason a person can act on. It is safe to run again: the same
inputs give the same rendition keys.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from igpub.config import Settings
from igpub.media import plan
from igpub.observability import logger
from igpub.publishing.kinds import KINDS
from igpub.publishing.outcome import Outcome, Status, failed
from igpub.publishing.request import MediaItem, PostRequest
from igpub.repositories.media import HEAD_BYTES, MediaStore
from igpub.repositories.posts import NotOwner, PostRepository

__all__ = ["FETCH_MAX_BYTES", "MediaDeps", "prepare_post", "rendition_key"]

FETCH_MAX_BYTES = 300 * plan.MiB  # the largest thing Instagram takes (a reel)
FETCH_TIMEOUT_S = 120.0


class Fetcher(Protocol):
    def __call__(self, url: str, *, max_bytes: int, timeout_s: float, allow_loopback_http: bool) -> Any: ...


@dataclass
class MediaDeps:
    settings: Settings
    posts: PostRepository
    media: MediaStore
    clock: Callable[[], float]
    fetch: Fetcher | None = None  # igpub.media.fetch.fetch (a parameter so tests can count what is fetched)
    workdir: Path | None = None  # ephemeral storage (/tmp on Lambda)


def rendition_key(original: str, media_type: str) -> str:
    return f"{original}.ig.{'jpg' if media_type == 'image' else 'mp4'}"


def _name(item: MediaItem) -> str:
    where = item.key or item.url or "media"
    return where.rsplit("/", 1)[-1].split("?", 1)[0] or where


def prepare_post(deps: MediaDeps, post_id: str, then: dict[str, Any], *, execution_id: str) -> Outcome:
    """Prepare the post's media; ``then`` is the outcome to answer when all went well. Only the execution
    that owns the post writes to it (another one's call answers duplicate and changes nothing)."""
    rec = deps.posts.get(post_id)
    if rec is None:
        raise LookupError(f"post {post_id} has no record")
    if rec.execution_id != execution_id:
        return {"status": Status.DUPLICATE, "reason": f"post {post_id} is handled by {rec.execution_id}"}
    req = PostRequest.model_validate_json(rec.request)
    spec = KINDS[req.kind]
    done: list[dict[str, Any]] = list(rec.media_prepared)
    already = {d["index"] for d in done}
    media = list(req.media)
    first: tuple[int, int] | None = None
    for i, item in enumerate(media):
        name = _name(item)
        try:
            if i in already:
                entry = next(d for d in done if d["index"] == i)
                if i == 0 and entry.get("width"):
                    first = (int(entry["width"]), int(entry["height"]))
                continue
            entry_or_none, out = _prepare_item(deps, post_id, req, i, item, first if i else None, name)
        except plan.NoFit as exc:
            return failed(f"{exc}.", "media_refused")
        except ValueError as exc:  # UnreadableImage / UnreadableVideo / FetchRefused
            return failed(f"{name}: {exc}." if name not in str(exc) else f"{exc}.", "media_unusable")
        if i == 0 and spec.name == "carousel":
            first = out
        if entry_or_none is None:
            continue
        done.append(entry_or_none)
        media[i] = item.model_copy(update={"key": entry_or_none["rendition"], "url": None, "focal_point": None})
        new_request = req.model_copy(update={"media": media})
        # saved after each item: a retried task does not prepare an item twice
        try:
            deps.posts.update_owned(
                post_id,
                deps.clock(),
                execution_id,
                request=json.dumps(new_request.model_dump(mode="json"), sort_keys=True),
                media_prepared=done,
            )
        except NotOwner:
            return {"status": Status.DUPLICATE, "reason": f"post {post_id} is handled by another execution"}
        logger.info("media prepared", extra={"post_id": post_id, "index": i, "summary": entry_or_none["summary"]})
    return dict(then)  # type: ignore[return-value]


def _prepare_item(
    deps: MediaDeps,
    post_id: str,
    req: PostRequest,
    i: int,
    item: MediaItem,
    first: tuple[int, int] | None,
    name: str,
) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
    spec = KINDS[req.kind]
    original = item.key
    fetched: bytes | None = None
    if original is None:
        if not req.prepare or item.url is None:
            return None, None
        if deps.fetch is None:
            from igpub.media.fetch import fetch as default_fetch

            deps.fetch = default_fetch
        got = deps.fetch(
            item.url,
            max_bytes=FETCH_MAX_BYTES,
            timeout_s=FETCH_TIMEOUT_S,
            allow_loopback_http=deps.settings.allow_http_media,
        )
        fetched = got.data
        original = f"fetched/{post_id}/{i}-{name}"
        deps.media.upload(original, fetched, got.content_type or "application/octet-stream")
    if item.type == "image":
        data = fetched if fetched is not None else deps.media.read(original)
        p = plan.plan_image(data[:HEAD_BYTES], len(data), role=spec.image_role, fit=req.fit, first=first, name=name)
        if p.problems:
            raise plan.NoFit(p.problems[0])
        if not p.work and fetched is None:
            return None, p.out
        from igpub.media.images import prepare_image

        focal = plan.parse_focal_point(item.focal_point)
        r = prepare_image(data, role=spec.image_role, fit=req.fit, focal=focal, fill=req.fill, first=first, name=name)
        key = rendition_key(original, "image")
        deps.media.upload(key, r.data, "image/jpeg")
        entry = {"index": i, "original": original, "rendition": key, "summary": r.summary}
        entry |= {"width": r.width, "height": r.height, "bytes": len(r.data)}
        return entry, (r.width, r.height)
    from igpub.media.video import prepare_video

    with tempfile.TemporaryDirectory(dir=deps.workdir) as tmp:
        src = Path(tmp) / "original"
        if fetched is not None:
            src.write_bytes(fetched)
        else:
            deps.media.download(original, str(src))
        with src.open("rb") as f:
            head = f.read(HEAD_BYTES)
        p = plan.plan_video(head, src.stat().st_size, role=spec.video_role, name=name, first=first, fit=req.fit)
        if p.problems:
            raise plan.NoFit(p.problems[0])
        if not p.work and fetched is None:
            return None, p.out
        dst = Path(tmp) / "rendition.mp4"
        target = plan.carousel_ratio(first) if first is not None else None
        v = prepare_video(src, dst, role=spec.video_role, name=name, target=target, fit=req.fit)
        key = rendition_key(original, "video")
        deps.media.upload_file(key, str(dst), "video/mp4")
    entry = {"index": i, "original": original, "rendition": key, "summary": v.summary, "bytes": v.size}
    entry |= {"width": v.width, "height": v.height} if v.width and v.height else {}
    return entry, (v.width, v.height) if v.width and v.height else None


def plan_post(peek: Callable[[str], Any], req: PostRequest) -> tuple[list[str], list[list[str]]]:
    """What the Prepare task checks before a post is claimed: (problems, work per item).

    ``peek(key)`` gives an object's size and first bytes (``MediaStore.peek``), None when it is missing. Bucket
    keys are planned from their first bytes; an item that needs no work is checked as before
    (igpub.publishing.media_check); a URL needs work only with ``prepare: true``."""
    from igpub.publishing import media_check

    spec = KINDS[req.kind]
    problems: list[str] = []
    work: list[list[str]] = []
    first: tuple[int, int] | None = None
    for i, item in enumerate(req.media):
        if not item.key:
            work.append(["fetched and prepared"] if req.prepare else [])
            continue
        got = peek(item.key)
        if got is None:
            problems.append(f"{item.key}: no such file in the media bucket")
            work.append([])
            continue
        carousel_first = first if spec.name == "carousel" and i else None
        if item.type == "image":
            p = plan.plan_image(
                got.head, got.size, role=spec.image_role, fit=req.fit, first=carousel_first, name=item.key
            )
            if not p.work and not p.problems:
                problems += media_check.check_image(got.head, got.size, role=spec.image_role, name=item.key)
        else:
            p = plan.plan_video(
                got.head, got.size, role=spec.video_role, name=item.key, first=carousel_first, fit=req.fit
            )
            if not p.work and not p.problems:
                problems += media_check.check_video(got.head, got.size, role=spec.video_role, name=item.key)
        if i == 0:
            first = p.out
        problems += p.problems
        work.append(p.work)
    return problems, work
