"""`igpub connect`: a single-use invite link that connects an Instagram professional account (or Facebook Login)."""

from __future__ import annotations

import time
import webbrowser
from typing import Annotated

import typer

from igpub_cli import api, ui
from igpub_cli.api import engagement


def connect(
    ctx: typer.Context,
    open_: Annotated[bool, typer.Option("--open", help="Also open the URL in the default browser.")] = False,
    facebook: Annotated[
        bool, typer.Option("--facebook", help="Connect Facebook Login instead (needed only for hashtag discovery).")
    ] = False,
    label: Annotated[str, typer.Option(help='Whom the invite is for, e.g. "Client A" (stored with it).')] = "",
    days: Annotated[float, typer.Option(help="How long the invite stays valid, in days (at most 90).")] = 7,
    with_: Annotated[
        str | None,
        typer.Option("--with", help="Also ask for what these need: comments, insights, webhooks (comma-separated; "
                     "webhooks also enables Instagram's webhooks for the account)."),
    ] = None,
) -> None:
    """Create a single-use invite link that connects one Instagram professional account to igpub.

    Send it to the account's owner (or open it yourself), log in to Instagram and allow igpub; the account
    then shows in `igpub accounts`. The link works once and expires after --days. The redirect URI to
    register in your Meta app is printed on stderr.
    """
    dep = ui.dep(ctx)
    try:
        invite = api.create_invite(dep, label=label, facebook=facebook, valid_for_s=int(days * 86400))
    except ValueError as exc:
        ui.refuse(str(exc))
    try:
        url = engagement.with_features(invite.url, [f.strip() for f in (with_ or "").split(",") if f.strip()])
    except ValueError as exc:
        ui.refuse(str(exc))
    if facebook:
        redirect, app = dep.output("FacebookRedirectUri"), "Meta"
    else:
        redirect, app = dep.output("OAuthRedirectUri"), "Instagram"
    ui.line(url)
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(invite.expires_at))
    ui.line(f"single-use invite{f' for {invite.label}' if invite.label else ''}, valid until {until}", stderr=True)
    ui.line(f"Register this redirect URI in your {app} app: {redirect}", stderr=True)
    if open_:
        webbrowser.open(url)
