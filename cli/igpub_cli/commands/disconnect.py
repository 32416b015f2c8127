"""`igpub disconnect ACCOUNT [--delete-data] [--yes]`: what Meta's deauthorize (and data deletion)
callbacks do, started by the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from igpub_cli import disconnect as logic
from igpub_cli import ui


def disconnect(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="The account id (or app-scoped id), see `igpub accounts`.")],
    delete_data: Annotated[
        bool, typer.Option("--delete-data", help="Also delete what igpub holds about the account (as for a "
                           "person's data deletion request to Meta); post records keep only the team's text.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Disconnect an account: its token is deleted, its scheduled posts end (failed, with the reason) and
    nothing is published for it any more. It stays in `igpub accounts` as deauthorized until its data is
    deleted (--delete-data, now or later). Exit code 2 when the account is unknown or you say no."""
    dep = ui.dep(ctx)
    try:
        found = logic.find_account(dep, account)
    except logic.NotConnected as exc:
        ui.refuse(str(exc))
    what = "disconnect @{} ({}){}".format(
        found.username, found.account_id, " and DELETE what igpub holds about it" if delete_data else "")
    if not yes and not typer.confirm(f"{what[0].upper()}{what[1:]}?", default=False):
        ui.refuse("nothing was changed")
    out = logic.disconnect(dep, found.account_id, delete_data=delete_data)
    if as_json:
        ui.print_json(out)
        return
    for d in out.get("accounts", []):
        if d["already"]:
            ui.line(f"@{d['username']} ({d['account_id']}) was already disconnected")
        else:
            ended, flying = len(d["posts_ended"]), len(d["posts_in_flight"])
            ui.line(f"@{d['username']} ({d['account_id']}) disconnected: token deleted, {ended} scheduled post(s) "
                    f"ended, {flying} being published will fail at their next step")
    deletion = out.get("deletion")
    if deletion:
        summary = (out.get("deletion_result") or {}).get("summary") or deletion.get("summary") or {}
        status = (out.get("deletion_result") or {}).get("status") or deletion["status"]
        ui.line(f"data deletion {status} (confirmation code {deletion['code']})")
        if summary:
            ui.table(None, ["DELETED", ">COUNT"], sorted(summary.items()))
