"""`igpub insights` and `igpub comments ...`: through the deployed EngagementFunction (it holds the token)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

import typer

from igpub.connect.oauth import features_of
from igpub.engage.actions import metric_problems, window_problems
from igpub_cli import api, times, ui
from igpub_cli.api import engagement as eng
from igpub_cli.deployment import Deployment

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AccountOption = Annotated[
    str | None, typer.Option("--account", help="Account id. Default: IGPUB_ACCOUNT, else the only active account.")
]

app = typer.Typer(help="Read, reply to, hide and delete comments on your posts; turn comments on or off.",
                  no_args_is_help=True)


# what each operation needs from the account's connection (`igpub connect --with FEATURE`)
FEATURE = {"comments": "comments", "reply": "comments", "hide": "comments", "unhide": "comments",
           "delete": "comments", "comments on": "comments", "comments off": "comments", "insights": "insights"}
# what to check when Instagram refuses an id or a parameter (code 100), per operation
WRONG_INPUT = {
    "comments": "check the post id (igpub posts)",
    "reply": "check the comment id (igpub comments list POST); a reply to a reply goes to its top-level comment",
    "hide": "check the comment id (igpub comments list POST)",
    "unhide": "check the comment id (igpub comments list POST)",
    "delete": "check the comment id (igpub comments list POST); only comments on the account's own media",
    "comments on": "check the post id (igpub posts)",
    "comments off": "check the post id (igpub posts)",
    "insights": "check the metrics and the --since/--until window (at most 30 days, not in the future)",
}


def reconnect_command(dep: Deployment, account_id: str | None, feature: str) -> str:
    """The `igpub connect` whose link re-connects the account with ``feature`` and what it has already."""
    known = api.accounts_repo(dep).get(account_id, public=True) if account_id else None
    features = list(dict.fromkeys([*(features_of(known.scopes) if known else ()), *feature.split(",")]))
    return f"igpub connect{f' --account {account_id}' if account_id else ''} --with {','.join(features)}"


def _run[T](what: str, thunk: Callable[[], T], *, dep: Deployment | None = None, account_id: str | None = None,
            post_id: str | None = None) -> T:
    """Run one engagement call; an error becomes one message with advice that fits ``what`` and its exit code:
    2 when the input was wrong (an unknown id, a post not published, a missing permission), 1 otherwise."""
    try:
        return thunk()
    except eng.EngagementError as exc:
        if exc.kind in ("invalid", "not_found", "not_published", "not_connected"):
            ui.refuse(f"{what}: {exc}")
        if exc.kind == "instagram" and exc.permission_denied:
            feature = FEATURE.get(what, "comments,insights")
            if dep is not None and account_id is None and post_id is not None:
                rec = api.posts_repo(dep).get(post_id)
                account_id = rec.account_id if rec else None
            command = reconnect_command(dep, account_id, feature) if dep else f"igpub connect --with {feature}"
            ui.refuse(f"{what}: Instagram refused: {exc}. The account was connected without the {feature} "
                      f"permission: send (or open) the link of `{command}` and grant it")
        if exc.kind == "instagram" and exc.bad_parameter:
            ui.refuse(f"{what}: Instagram refused: {exc}. {WRONG_INPUT.get(what, 'check the command line')}")
        advice = f" {exc.advice}" if exc.advice and "post's options" not in exc.advice else ""
        ui.fail(f"{what}: {exc}.{advice}" if exc.kind == "instagram" else f"{what}: {exc}")


def insights(
    ctx: typer.Context,
    post: Annotated[str | None, typer.Argument(help="Post id: its insights (collected 1 h, 24 h and 7 days after "
                                                   "publishing).")] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Account insights of this account id instead (use --account '' for the "
                     "only connected account)."),
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="With POST: ask Instagram now (stored as 'latest').")]
    = False,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Account metric (repeatable). "
                                                     "Default: reach, views, engagement and follows.")] = None,
    since: Annotated[str | None, typer.Option(help="Account insights from: a date (2026-12-01), ISO 8601, Unix "
                                              "seconds or relative (-7d); at most 30 days before --until. "
                                              "Default: 24 h before --until.")] = None,
    until: Annotated[str | None, typer.Option(help="Account insights until: the same forms (now, -1d, ...). "
                                              "Default: now.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a post's insights, or an account's (--account ID)."""
    dep = ui.dep(ctx)
    if post is None and account is None:
        ui.refuse("name a POST, or --account ID for account insights")
    if post is not None:
        body = _run("insights", lambda: eng.post_insights(dep, post, refresh=refresh), dep=dep, post_id=post)
        assert isinstance(body, dict)
        if as_json:
            ui.print_json(body)
            return
        columns, rows, notes = eng.insights_rows(body)
        title = (f"Post {body.get('post_id')} ({body.get('kind')}, media {body.get('media_id') or '-'}), "
                 f"published {eng.when(body.get('published_at'))}")
        ui.table(title, columns, rows)
        for note in notes:
            ui.line(note)
        return
    if refresh:
        ui.refuse("--refresh applies to a POST's insights; account insights are always read from Instagram")
    try:
        start, end = times.epoch_value(since), times.epoch_value(until)
    except times.TimeFormatError as exc:
        ui.refuse(str(exc))
    problems = window_problems(start, end, now=time.time()) + metric_problems(metric or [])
    if problems:
        ui.refuse("; ".join(problems))
    account_id = account or api.only_active_account(dep)
    body = _run("insights", lambda: eng.account_insights(dep, account_id, metrics=metric, since=start,
                                                        until=end), dep=dep, account_id=account_id)
    assert isinstance(body, dict)
    if as_json:
        ui.print_json(body)
        return
    window = (f"{eng.when(start) if start else '24 h before'} to {eng.when(end) if end else 'now'}"
              if start or end else "the last 24 h")
    ui.table(f"Account {account_id}, {window}", ["METRIC", ">VALUE"], eng.account_insights_rows(body))


@app.command("list")
def list_(
    ctx: typer.Context,
    post: Annotated[str, typer.Argument(help="Post id.")],
    limit: Annotated[int, typer.Option(help="At most this many top-level comments (every page is read).")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Comments on a post, newest first, with their replies (yours marked)."""
    dep = ui.dep(ctx)
    found = _run("comments", lambda: eng.list_comments(dep, post_id=post, limit=limit), dep=dep, post_id=post)
    assert isinstance(found, list)
    if as_json:
        ui.print_json(found)
        return
    if not found:
        ui.line("no comments")
        return
    ui.table(None, ["COMMENT ID", "WHEN (UTC)", "FROM", "TEXT", "STATE"], eng.comment_rows(found))


@app.command()
def reply(
    ctx: typer.Context,
    comment_id: Annotated[str, typer.Argument(help="The comment to answer (a reply to a reply goes to its "
                                                   "top-level comment).")],
    message: Annotated[str, typer.Argument(help="The reply's text.")],
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reply to a comment."""
    dep = ui.dep(ctx)
    account_id = account or api.only_active_account(dep)
    new_id = _run("reply", lambda: eng.reply_comment(dep, account_id, comment_id, message), dep=dep,
                  account_id=account_id)
    ui.print_json({"comment_id": new_id}) if as_json else ui.line(f"replied: {new_id}")


def _hide(ctx: typer.Context, comment_id: str, account: str | None, as_json: bool, hide: bool) -> None:
    dep = ui.dep(ctx)
    account_id = account or api.only_active_account(dep)
    func = eng.hide_comment if hide else eng.unhide_comment
    hidden = _run("hide" if hide else "unhide", lambda: func(dep, account_id, comment_id), dep=dep,
                  account_id=account_id)
    if as_json:
        ui.print_json({"comment_id": comment_id, "hidden": hidden})
        return
    note = " (a comment the account wrote itself stays visible)" if hide and hidden is False else ""
    ui.line(f"{comment_id}: hidden={hidden}{note}")


@app.command()
def hide(ctx: typer.Context, comment_id: Annotated[str, typer.Argument(help="Comment id.")],
         account: AccountOption = None, as_json: JsonOption = False) -> None:
    """Hide a comment (the author still sees it; your own comments stay visible)."""
    _hide(ctx, comment_id, account, as_json, True)


@app.command()
def unhide(ctx: typer.Context, comment_id: Annotated[str, typer.Argument(help="Comment id.")],
           account: AccountOption = None, as_json: JsonOption = False) -> None:
    """Show a hidden comment again."""
    _hide(ctx, comment_id, account, as_json, False)


@app.command()
def delete(ctx: typer.Context, comment_id: Annotated[str, typer.Argument(help="Comment id.")],
           account: AccountOption = None, as_json: JsonOption = False) -> None:
    """Delete a comment on one of your posts."""
    dep = ui.dep(ctx)
    account_id = account or api.only_active_account(dep)
    _run("delete", lambda: eng.delete_comment(dep, account_id, comment_id), dep=dep, account_id=account_id)
    ui.print_json({"deleted": comment_id}) if as_json else ui.line(f"deleted {comment_id}")


@app.command("on")
def on(ctx: typer.Context, post: Annotated[str, typer.Argument(help="Post id.")]) -> None:
    """Turn comments on for a post."""
    dep = ui.dep(ctx)
    _run("comments on", lambda: eng.set_comments_enabled(dep, True, post_id=post), dep=dep, post_id=post)
    ui.line(f"comments turned on for post {post}")


@app.command("off")
def off(ctx: typer.Context, post: Annotated[str, typer.Argument(help="Post id.")]) -> None:
    """Turn comments off for a post."""
    dep = ui.dep(ctx)
    _run("comments off", lambda: eng.set_comments_enabled(dep, False, post_id=post), dep=dep, post_id=post)
    ui.line(f"comments turned off for post {post}")
