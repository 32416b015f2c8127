"""`igpub alarms`: the deployment's CloudWatch alarms and their state (what an administrator checks first)."""

from __future__ import annotations

from typing import Annotated

import typer

from igpub_cli import api, ui


def alarms(
    ctx: typer.Context,
    firing: Annotated[bool, typer.Option("--firing", help="Only the alarms in ALARM state.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the deployment's alarms (failed posts, function errors and throttles, token refresh failures).

    Exit code 1 when an alarm is in ALARM state.
    """
    dep = ui.dep(ctx)
    found = api.list_alarms(dep, firing_only=firing)
    if as_json:
        ui.print_json(found)
    elif not found:
        ui.line("No alarm in ALARM state." if firing else "No alarms found for this deployment.")
    else:
        ui.table(None, ["ALARM", "STATE", "SINCE", "REASON"],
                 [(a["name"], a["state"], a["since"], a["reason"]) for a in found])
    if any(a["state"] == "ALARM" for a in found):
        raise ui.CliError(f"{sum(a['state'] == 'ALARM' for a in found)} alarm(s) in ALARM state", ui.FAILED)
