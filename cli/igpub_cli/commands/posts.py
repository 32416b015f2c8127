"""`igpub post` and `igpub posts`: publish, and see what was published."""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from igpub.publishing.kinds import KINDS
from igpub.publishing.request import infer_media_type
from igpub_cli import api, times, ui
from igpub_cli.deployment import Deployment

# the --kind choices come from the post-kind spec table (one home per kind)
Kind = StrEnum("Kind", {name: name for name in KINDS})  # type: ignore[misc]
DEFAULT_KIND = Kind("image")


def _media(kind: Kind, urls: list[str], files: list[Path], post_id: str) -> list[dict[str, Any]]:
    """The request's media: each URL, then each local file under the key it will be uploaded to (nothing is
    uploaded here: the request is checked first, see ``post``)."""
    media: list[dict[str, Any]] = []
    for url in urls:
        item: dict[str, Any] = {"url": url}
        if infer_media_type(url) is None:
            item["type"] = "video" if kind == "reel" else "image"
        media.append(item)
    media += [{"key": api.upload_key(path, prefix=f"uploads/{post_id}")} for path in files]
    return media


def _upload(dep: Deployment, files: list[Path], post_id: str, *, kind: str = "image", fit: str = "pad") -> None:
    for path in files:
        key = api.upload_media(dep, path, prefix=f"uploads/{post_id}", kind=kind, fit=fit)
        ui.line(f"uploaded {path} -> s3://{dep.output('MediaBucketName')}/{key}", stderr=True)


def _print_plan(kind: Kind, urls: list[str], files: list[Path], *, fit: str, prepare: bool) -> list[str]:
    """What igpub will do to each file and URL before Instagram sees it (igpub.media.plan); the problems."""
    problems: list[str] = []
    first: tuple[int, int] | None = None
    index = 0
    for url in urls:
        ui.line(f"{url.split('?', 1)[0]}: {'fetched and prepared' if prepare else 'sent as it is'}")
        index += 1
    for path in files:
        work, found, out = api.plan_file(path, kind=kind.value, fit=fit, first=first, index=index)
        if index == 0:
            first = out
        index += 1
        problems += found
        ui.line(f"{path.name}: {', '.join(work) if work else 'sent as it is'}" if not found else
                f"{path.name}: refused")
    return problems


def _finish(rec: api.PostRecord) -> None:
    if rec.status == "published":
        ui.line(f"published: media {rec.media_id}")
        ui.line(f"permalink: {rec.permalink or '(not available yet)'}")
        if rec.first_comment_status:
            why = f" ({rec.first_comment_reason})" if rec.first_comment_status == "failed" else ""
            ui.line(f"first comment: {rec.first_comment_status}{why}")
        return
    if rec.status == "cancelled":
        raise ui.CliError(f"post {rec.post_id} was cancelled", ui.FAILED)
    if rec.status != "failed":  # rescheduled: another execution has it now
        raise ui.CliError(f"post {rec.post_id} is {rec.status} under another execution; follow it with igpub posts")
    raise ui.CliError(f"post {rec.post_id} FAILED: {rec.failure_reason}", ui.FAILED)


def post(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Account id to publish on. Default: IGPUB_ACCOUNT, else "
                                                     "the only active account (see `igpub accounts`). With "
                                                     "--request: the account of requests that name none.")] = None,
    kind: Annotated[Kind, typer.Option(help="What to publish.")] = DEFAULT_KIND,
    url: Annotated[list[str] | None, typer.Option(
        metavar="URL", help="Public https URL of an image or video; repeat for a carousel. Quote it in the shell "
        "if it has ? or &.")] = None,
    file: Annotated[list[Path] | None, typer.Option(
        metavar="PATH", help="Local JPEG/MP4/MOV to upload to the media bucket; repeatable.")] = None,
    caption: Annotated[str, typer.Option(help="The caption (at most 2,200 characters, 30 hashtags, "
                                              "20 mentions).")] = "",
    alt_text: Annotated[str | None, typer.Option(help="Alt text of the first image, for screen readers.")] = None,
    location_id: Annotated[str | None, typer.Option(help="A Facebook Page id to tag as the location.")] = None,
    collaborator: Annotated[list[str] | None, typer.Option(
        metavar="USERNAME", help="Username to invite as a collaborator; repeatable (at most 3).")] = None,
    cover_url: Annotated[str | None, typer.Option(help="Reel: URL of a cover image.")] = None,
    share_to_feed: Annotated[bool, typer.Option("--share-to-feed", help="Reel: also show it in the feed "
                                                                        "grid.")] = False,
    publish_at: Annotated[str | None, typer.Option(help=f"When to publish: {times.FORMATS_HELP}. Default: now. "
                                                        f"At most {api.PAST_TOLERANCE_MIN} minutes in the past, "
                                                        "75 days ahead.")] = None,
    client_post_id: Annotated[str | None, typer.Option(help="Your id for the post: submitting the same id "
                                                            "twice publishes once. Default: a random id.")] = None,
    hashtag_pool: Annotated[str | None, typer.Option(help="Add hashtags from this pool to the caption "
                                                          "(see `igpub hashtags list`).")] = None,
    hashtag_count: Annotated[int | None, typer.Option(help="How many hashtags to take from the pool. "
                                                           "Default: the deployment's HashtagsPerPost.")] = None,
    first_comment: Annotated[str | None, typer.Option(help="A comment the account posts on the media right "
                                                           "after publishing (never twice).")] = None,
    hashtags_in_comment: Annotated[bool, typer.Option("--hashtags-in-comment", help="Put the pool's hashtags in "
                                                      "the first comment instead of the caption.")] = False,
    request: Annotated[Path | None, typer.Option(help="The whole post request as JSON instead of the options: "
                                                      "a file with one request, a file with a list of them, or a "
                                                      "folder of such files (many posts: one progress bar and a "
                                                      "summary table).")] = None,
    max_in_flight: Annotated[int, typer.Option(help="With many requests: how many publish at once.")] = 8,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once the post is submitted; "
                                                            "follow it with `igpub posts`.")] = False,
    fit: Annotated[str, typer.Option(help="A picture outside the kind's aspect ratio: pad (nothing is lost; "
                                          "bars filled per --fill), crop (around --focal-point), or refuse.")] = "pad",
    fill: Annotated[str, typer.Option(help="What fills the bars with --fit pad: blur (a blurred copy of the "
                                           "picture), white, black, grey or #rrggbb.")] = "blur",
    focal_point: Annotated[str | None, typer.Option(help="With --fit crop: x,y from the top left (0 to 1), "
                                                         "e.g. 0.5,0.3; applies to every file.")] = None,
    prepare: Annotated[bool, typer.Option("--prepare", help="Fetch --url media and prepare them too (https, "
                                                            "public addresses only).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be done to each file, then "
                                                            "stop: nothing is uploaded or started.")] = False,
) -> None:
    """Publish a post and follow it until it is published or failed.

    Bad input (an account that is not connected, an unknown hashtag pool, a missing file, a time in the past)
    is refused before anything starts, with exit code 2.
    """
    files = file or []
    api.check_files(files)  # before anything is looked up, uploaded or started
    if fit not in ("pad", "crop", "refuse"):
        raise api.RequestInvalid([f"--fit {fit!r} must be pad, crop or refuse"])
    if request is None and (files or url):
        problems = _print_plan(kind, url or [], files, fit=fit, prepare=prepare)
        if problems:
            raise api.RequestInvalid(problems)
    if dry_run:
        return
    dep = ui.dep(ctx)
    if request is not None:
        given = [name for name, value in (("--url", url), ("--file", file), ("--caption", caption),
                                          ("--publish-at", publish_at), ("--first-comment", first_comment),
                                          ("--hashtag-pool", hashtag_pool), ("--client-post-id", client_post_id))
                 if value]
        if given:
            ui.refuse(f"{', '.join(given)} cannot be combined with --request: put them in the request's JSON")
        items = [(source, _with_account(source, data, account)) for source, data in api.load_requests(request)]
        if request.is_dir() or len(items) != 1 or isinstance(api.read_request_file(request), list):
            _post_many(dep, items, no_wait=no_wait, max_in_flight=max_in_flight)
            return
        data: dict[str, Any] = items[0][1]
    else:
        post_id = client_post_id or uuid.uuid4().hex
        account_id = account or api.only_active_account(dep)
        data = {"account_id": account_id, "kind": kind.value, "caption": caption, "client_post_id": post_id}
        for key, value in (("location_id", location_id), ("publish_at", times.publish_at_value(publish_at)),
                           ("cover_url", cover_url), ("hashtag_pool", hashtag_pool),
                           ("hashtag_count", hashtag_count), ("first_comment", first_comment)):
            if value is not None:
                data[key] = value
        if collaborator:
            data["collaborators"] = collaborator
        if share_to_feed:
            data["share_to_feed"] = True
        if hashtags_in_comment:
            data["hashtags_in"] = "first_comment"
        data["media"] = _media(kind, url or [], files, post_id)
        if alt_text and data["media"]:
            data["media"][0]["alt_text"] = alt_text
        data |= {"fit": fit, "fill": fill} | ({"prepare": True} if prepare else {})
        if focal_point is not None:
            for item in data["media"]:
                item["focal_point"] = focal_point
        # every check that needs no upload (the request's rules, the account, the pool, the time, what igpub
        # cannot make fit in each file) runs first: a refused post leaves nothing in the bucket
        api.check_before_upload(dep, data, files)
        _upload(dep, files, post_id, kind=kind.value, fit=fit)
    sub = api.submit_post(dep, data)
    ui.line(f"post {sub.post_id} started ({sub.execution_arn})")
    if no_wait:
        return
    _finish(api.watch_post(dep, sub, on_progress=ui.line))


def _with_account(source: str, data: dict[str, Any], account: str | None) -> dict[str, Any]:
    """``--account`` fills in a request that names none; a request naming another account is refused."""
    if account is None:
        return data
    named = data.get("account_id")
    if named is None:
        return {**data, "account_id": account}
    if str(named) != account:
        ui.refuse(f"{source} names account {named}, not --account {account}: remove one of them")
    return data


def _post_many(dep: Deployment, items: list[tuple[str, dict[str, Any]]], *, no_wait: bool,
               max_in_flight: int) -> None:
    """Many requests: all checked before any starts, one progress bar, a summary table; exit code 1 when
    any post failed."""
    api.check_requests(dep, items)
    requests = [data for _, data in items]
    subs: dict[int, api.Submission] = {}
    if no_wait:
        for i, data in enumerate(requests):
            subs[i] = api.submit_post(dep, data)
        ui.table(f"{len(subs)} posts submitted", ["SOURCE", "POST ID", "EXECUTION"],
                 [(items[i][0], s.post_id, s.execution_arn) for i, s in subs.items()])
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[tally]}"), TimeElapsedColumn())
    tally = {"published": 0, "failed": 0}
    with Progress(*columns, console=ui.err, transient=False) as progress:
        task = progress.add_task("publishing", total=len(requests), tally="")

        def done(rec: api.PostRecord) -> None:
            key = "published" if rec.status == "published" else "failed"
            tally[key] += 1
            progress.update(task, advance=1, tally=f"{tally['published']} published, {tally['failed']} failed")

        records = api.publish_many(dep, requests, max_in_flight=max_in_flight, on_done=done,
                                   on_submitted=lambda i, sub: subs.__setitem__(i, sub))
    ui.table(
        f"{len(records)} posts: {tally['published']} published, {tally['failed']} not published",
        ["SOURCE", "POST ID", "KIND", "STATUS", "PERMALINK OR REASON"],
        [(items[i][0], r.post_id, r.kind, r.status, r.permalink or r.failure_reason or "")
         for i, r in enumerate(records)],
    )
    if tally["failed"]:
        raise typer.Exit(ui.FAILED)


def posts(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account's posts.")] = None,
    limit: Annotated[int, typer.Option(help="How many posts, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the request as an object) instead of a "
                                                         "table.")] = False,
) -> None:
    """Recent posts with their status, permalink or failure reason."""
    dep = ui.dep(ctx)
    found = api.list_posts(dep, account_id=account, limit=limit)
    if not found and account is not None and account not in {a.account_id for a in api.list_accounts(dep)}:
        known = ", ".join(f"@{a.username}={a.account_id}" for a in api.list_accounts(dep)) or "none"
        ui.refuse(f"account {account} is not connected to igpub (connected: {known})")
    if as_json:
        ui.print_json([api.record_dict(p) for p in found])
        return
    if not found:
        ui.line(f"No posts for account {account} yet." if account else
                "No posts yet. Publish one: igpub post --url 'https://...' --caption '...'")
        return
    ui.table(
        None,
        ["CREATED (UTC)", "POST ID", "KIND", "STATUS", "PUBLISH AT", "PERMALINK OR REASON", "MEDIA PREPARED"],
        [(p.created_at[:19].replace("T", " "), p.post_id, p.kind, p.status, _publish_at(p),
          p.permalink or p.failure_reason or "", _prepared(p)) for p in found],
    )


def _prepared(rec: api.PostRecord) -> str:
    """What igpub did to the post's media (igpub.media): one line per prepared item."""
    return "\n".join(f"{d['original'].rsplit('/', 1)[-1]}: {d['summary']}" for d in rec.media_prepared)


def _publish_at(rec: api.PostRecord) -> str:
    try:
        value = json.loads(rec.request).get("publish_at")
    except ValueError:
        return ""
    return str(value or "")[:19].replace("T", " ")
