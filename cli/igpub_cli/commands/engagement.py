"""`igpub insights` and `igpub comments ...`: through the deployed EngagementFunction (it holds the token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from igpub_cli import api, ui
from igpub_cli.api import engagement as eng

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AccountOption = Annotated[
    str | None, typer.Option("--account", help="Account id. Default: the only connected account.")
]

app = typer.Typer(help="Read, reply to, hide and delete comments on your posts; turn comments on or off.",
                  no_args_is_help=True)


def _run[T](what: str, thunk: Callable[[], T]) -> T:
    try:
        return thunk()
    except eng.EngagementError as exc:
        if exc.kind in ("invalid", "not_found", "not_published", "not_connected"):
            ui.refuse(f"{what}: {exc}")
        ui.fail(f"{what}: {exc}")


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
    since: Annotated[int | None, typer.Option(help="Account insights from (unix seconds; at most 30 days "
                                              "before --until). Default: the last 24 h.")] = None,
    until: Annotated[int | None, typer.Option(help="Account insights until (unix seconds).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a post's insights, or an account's (--account ID)."""
    dep = ui.dep(ctx)
    if post is None and account is None:
        ui.refuse("name a POST, or --account ID for account insights")
    if post is not None:
        body = _run("insights", lambda: eng.post_insights(dep, post, refresh=refresh))
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
    account_id = account or api.only_active_account(dep)
    body = _run("insights", lambda: eng.account_insights(dep, account_id, metrics=metric, since=since, until=until))
    assert isinstance(body, dict)
    if as_json:
        ui.print_json(body)
        return
    ui.table(f"Account {account_id} (last 24 h unless --since/--until)", ["METRIC", ">VALUE"],
             eng.account_insights_rows(body))


@app.command("list")
def list_(
    ctx: typer.Context,
    post: Annotated[str, typer.Argument(help="Post id.")],
    limit: Annotated[int, typer.Option(help="At most this many top-level comments (every page is read).")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Comments on a post, newest first, with their replies (yours marked)."""
    found = _run("comments", lambda: eng.list_comments(ui.dep(ctx), post_id=post, limit=limit))
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
    new_id = _run("reply", lambda: eng.reply_comment(dep, account_id, comment_id, message))
    ui.print_json({"comment_id": new_id}) if as_json else ui.line(f"replied: {new_id}")


def _hide(ctx: typer.Context, comment_id: str, account: str | None, as_json: bool, hide: bool) -> None:
    dep = ui.dep(ctx)
    account_id = account or api.only_active_account(dep)
    func = eng.hide_comment if hide else eng.unhide_comment
    hidden = _run("hide" if hide else "unhide", lambda: func(dep, account_id, comment_id))
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
    _run("delete", lambda: eng.delete_comment(dep, account_id, comment_id))
    ui.print_json({"deleted": comment_id}) if as_json else ui.line(f"deleted {comment_id}")


@app.command("on")
def on(ctx: typer.Context, post: Annotated[str, typer.Argument(help="Post id.")]) -> None:
    """Turn comments on for a post."""
    _run("comments on", lambda: eng.set_comments_enabled(ui.dep(ctx), True, post_id=post))
    ui.line(f"comments turned on for post {post}")


@app.command("off")
def off(ctx: typer.Context, post: Annotated[str, typer.Argument(help="Post id.")]) -> None:
    """Turn comments off for a post."""
    _run("comments off", lambda: eng.set_comments_enabled(ui.dep(ctx), False, post_id=post))
    ui.line(f"comments turned off for post {post}")
