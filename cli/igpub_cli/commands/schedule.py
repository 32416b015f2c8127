"""`igpub cancel` and `igpub reschedule`: change a scheduled post before publishing begins."""

from __future__ import annotations

from typing import Annotated

import typer

from igpub_cli import api, times, ui

PostArg = Annotated[str, typer.Argument(help="The post id (see `igpub posts`).", metavar="POST")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the post record as JSON.")]


def _history(rec: api.PostRecord) -> None:
    if rec.history:
        ui.table("History", ["AT (UTC)", "ACTION", "FROM", "TO"],
                 [(h.get("at", "")[:19].replace("T", " "), h.get("action"), h.get("from"), h.get("to"))
                  for h in rec.history])


def cancel(ctx: typer.Context, post: PostArg, as_json: JsonOption = False) -> None:
    """Cancel a scheduled post. Refused (exit code 2) once publishing has begun: a post being created on
    Instagram is finished, never left half done."""
    rec = api.cancel_post(ui.dep(ctx), post)
    if as_json:
        ui.print_json(api.record_dict(rec))
        return
    ui.line(f"post {rec.post_id} cancelled; nothing was sent to Instagram")
    _history(rec)


def reschedule(
    ctx: typer.Context,
    post: PostArg,
    publish_at: Annotated[str, typer.Option(help=f"The new time: {times.FORMATS_HELP} (at most "
                                                 f"{api.PAST_TOLERANCE_MIN} minutes in the past: now).")],
    as_json: JsonOption = False,
) -> None:
    """Move a scheduled (or cancelled) post to another time. Refused (exit code 2) once publishing has begun.

    The post gets a new execution; the waiting one is stopped and can no longer publish it. If the new
    execution cannot be started, the post stays with the old one, as it was (exit code 1).
    """
    dep = ui.dep(ctx)
    at = times.publish_at_value(publish_at) or publish_at
    try:
        sub = api.reschedule_post(dep, post, at)
    except api.RescheduleFailed as exc:
        raise ui.CliError(str(exc)) from exc
    rec = api.posts_repo(dep).get(post)
    if as_json:
        ui.print_json({"execution_arn": sub.execution_arn, "post": api.record_dict(rec) if rec else None})
        return
    ui.line(f"post {post} moved to {at} ({sub.execution_arn})")
    if rec:
        _history(rec)
