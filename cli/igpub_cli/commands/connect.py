"""`igpub connect`: the URL that connects an Instagram professional account (or Facebook Login)."""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from igpub_cli import engagement, ui


def connect(
    ctx: typer.Context,
    open_: Annotated[bool, typer.Option("--open", help="Also open the URL in the default browser.")] = False,
    facebook: Annotated[
        bool, typer.Option("--facebook", help="Connect Facebook Login instead (needed only for hashtag discovery).")
    ] = False,
    with_: Annotated[
        str | None,
        typer.Option("--with", help="Also ask for what these need: comments, insights, webhooks (comma-separated; "
                     "webhooks also enables Instagram's webhooks for the account)."),
    ] = None,
) -> None:
    """Print the URL that connects an Instagram professional account to igpub.

    Open it in a browser, log in to Instagram and allow igpub; the account then shows in `igpub accounts`.
    The redirect URI to register in your Meta app is printed on stderr.
    """
    dep = ui.dep(ctx)
    if facebook:
        url, redirect, app = dep.output("FacebookConnectUrl"), dep.output("FacebookRedirectUri"), "Meta"
    else:
        features = [f.strip() for f in (with_ or "").split(",") if f.strip()]
        try:
            url = engagement.connect_url(dep, features)
        except ValueError as exc:
            ui.refuse(str(exc))
        redirect, app = dep.output("OAuthRedirectUri"), "Instagram"
    ui.line(url)
    ui.line(f"Register this redirect URI in your {app} app: {redirect}", stderr=True)
    if open_:
        webbrowser.open(url)
