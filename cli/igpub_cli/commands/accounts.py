"""`igpub accounts` and `igpub refresh`: the connected accounts and their tokens."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from igpub_cli import api, ui

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def accounts(
    ctx: typer.Context,
    as_json: JsonOption = False,
    deleted_too: Annotated[bool, typer.Option(
        "--deleted", help="With --json: also the data deletion requests on record (the table always shows them)."
    )] = False,
) -> None:
    """List the connected Instagram accounts, their status and when their token expires; deauthorized
    accounts (their data kept until deleted) and data deletion requests (by confirmation code) too."""
    dep = ui.dep(ctx)
    now = time.time()
    found = api.list_accounts(dep)
    deleted = _deletions(dep) if deleted_too or not as_json else []
    if as_json:
        ui.print_json([{**a.model_dump(mode="json"), "days_until_expiry": a.days_left(now)} for a in found]
                      + [{"account_id": None, "username": None, "status": "data_deleted" if d.status == "done"
                          else f"deletion_{d.status}", "confirmation_code": d.code, "source": d.source,
                          "requested_at": d.requested_at, "completed_at": d.completed_at} for d in deleted])
        return
    if not found and not deleted:
        ui.line("No accounts connected yet. Run `igpub connect` and open the URL.")
        return
    ui.table(
        None,
        ["USERNAME", "ACCOUNT ID", "STATUS", ">TOKEN EXPIRES IN", "NOTE"],
        [(f"@{a.username}", a.account_id, a.status,
          "-" if a.status == "deauthorized" else f"{a.days_left(now):.1f} d", _note(a)) for a in found]
        + [("(deleted)", "-", "data deleted" if d.status == "done" else f"deletion {d.status}", "-",
            f"code {d.code}, {d.source}, {_when(d.completed_at or d.requested_at)}") for d in deleted],
    )


def _note(a: Any) -> str:
    if a.status == "deauthorized":
        return f"by {a.deauthorized_by} at {(a.deauthorized_at or '')[:16]}; data kept until deleted"
    return str(a.reauth_reason or "")


def _deletions(dep: Any) -> list[Any]:
    """Data deletion requests still on record (older deployments have no such table: none)."""
    if "DeletionRequestsTableName" not in dep.outputs:
        return []
    from igpub_cli.disconnect import deletion_requests

    return deletion_requests(dep)


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
