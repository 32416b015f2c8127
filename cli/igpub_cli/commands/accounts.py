"""`igpub accounts` and `igpub refresh`: the connected accounts and their tokens."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from igpub_cli import api, ui

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def accounts(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the connected Instagram accounts, their status and when their token expires."""
    dep = ui.dep(ctx)
    now = time.time()
    found = api.list_accounts(dep)
    if as_json:
        ui.print_json([{**a.model_dump(mode="json"), "days_until_expiry": a.days_left(now)} for a in found])
        return
    if not found:
        ui.line("No accounts connected yet. Run `igpub connect` and open the URL.")
        return
    ui.table(
        None,
        ["USERNAME", "ACCOUNT ID", "STATUS", ">TOKEN EXPIRES IN", "NOTE"],
        [(f"@{a.username}", a.account_id, a.status, f"{a.days_left(now):.1f} d", a.reauth_reason or "")
         for a in found],
    )


def _when(epoch: Any) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch)) if epoch else ""


def refresh(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Argument(help="Account id: refresh this account's token now, due or not, once it is 24 h "
                                   "old (Instagram refreshes no younger token: it is then counted TOO YOUNG).")
    ] = None,
    ignore_min_age: Annotated[
        bool,
        typer.Option("--ignore-min-age", help="With ACCOUNT: try even if the token is younger than 24 h "
                     "(Instagram may refuse)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Refresh the tokens that are due now (what the daily schedule does), or one account's token.

    Exit code 1 when a token could not be refreshed.
    """
    dep = ui.dep(ctx)
    if account is not None and api.accounts_repo(dep).get(account, public=True) is None:
        known = ", ".join(f"@{a.username}={a.account_id}" for a in api.list_accounts(dep)) or "none"
        ui.refuse(f"account {account} is not connected to igpub (connected: {known})")
    report = api.refresh_tokens(dep, account, ignore_min_age=ignore_min_age)
    problems = report["needs_reauth"] + report["transient_failures"] + report["failed"]
    if as_json:
        ui.print_json(report)
    else:
        ui.table(
            None,
            [">REFRESHED", ">NEED RE-AUTH", ">TRANSIENT", ">FAILED", ">TOO YOUNG", ">RACED", ">READ"],
            [(report["refreshed"], report["needs_reauth"], report["transient_failures"], report["failed"],
              report["skipped_young"], report["raced"], report["items_read"])],
        )
        if report.get("stopped_early"):
            more = " and more" if report.get("more_pending") else ""
            ui.line(f"stopped before the time limit: {report['left']}{more} left for the next run")
        details = report.get("details", [])
        if details:
            ui.table(
                "Accounts",
                ["ACCOUNT ID", "OUTCOME", "REASON", "EXPIRES"],
                [(d["account_id"], d["outcome"], d.get("reason") or "", _when(d.get("token_expires_at")))
                 for d in details],
            )
    if problems:
        raise typer.Exit(ui.FAILED)
