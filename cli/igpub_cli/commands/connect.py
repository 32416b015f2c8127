"""`igpub connect`: a single-use invite link that connects an Instagram professional account (or Facebook Login)."""

from __future__ import annotations

import time
import webbrowser
from typing import Annotated

import typer

from igpub.connect.oauth import features_of
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
                     "webhooks also enables Instagram's webhooks for the account; 'none' for nothing more). "
                     "Default: nothing more, or with --account what that account has."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Re-connecting this account: ask again for the permissions it has now "
                     "(comments, insights), so the re-connect keeps them; --with asks for others or fewer."),
    ] = None,
) -> None:
    """Create a single-use invite link that connects one Instagram professional account to igpub.

    Send it to the account's owner (or open it yourself), log in to Instagram and allow igpub; the account
    then shows in `igpub accounts`. The link works once and expires after --days. The redirect URI to
    register in your Meta app is printed on stderr.
    """
    dep = ui.dep(ctx)
    features = [f.strip() for f in (with_ or "").split(",") if f.strip() and f.strip() != "none"]
    if account is not None:
        known = api.accounts_repo(dep).get(account, public=True)
        if known is None:
            names = ", ".join(f"@{a.username}={a.account_id}" for a in api.list_accounts(dep)) or "none"
            ui.refuse(f"account {account} is not connected to igpub (connected: {names}); a new account needs "
                      "no --account")
        if with_ is None:
            features = list(features_of(known.scopes))
        ui.line(f"re-connect of @{known.username}: asks for publishing"
                + "".join(f", {f}" for f in features) + " (ask for others or fewer with --with)", stderr=True)
    try:
        invite = api.create_invite(dep, label=label, facebook=facebook, valid_for_s=int(days * 86400))
    except ValueError as exc:
        ui.refuse(str(exc))
    try:
        url = engagement.with_features(invite.url, features)
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
    if open_ and not webbrowser.open(url):
        ui.line("no browser could be started here: open the link above yourself, or send it", stderr=True)
