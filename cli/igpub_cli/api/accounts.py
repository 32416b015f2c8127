"""Connected accounts and invites: list them, pick the one active account, issue an invite link."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from igpub.accounts import Account
from igpub.connect import invites
from igpub.publishing.errors import RequestInvalid
from igpub.repositories.invites import InviteRepository
from igpub_cli.api.deps import accounts_repo
from igpub_cli.deployment import Deployment


@dataclass(frozen=True)
class CreatedInvite:
    url: str  # send it to the person who connects; it works once, until expires_at
    label: str
    flow: str
    expires_at: int


def create_invite(
    dep: Deployment, *, label: str = "", facebook: bool = False, valid_for_s: int = invites.DEFAULT_TTL_S,
    now: int | None = None,
) -> CreatedInvite:
    """A single-use, expiring link that connects one Instagram account (or, with ``facebook``, Facebook
    Login for hashtag discovery). Raises ValueError for a bad label or lifetime."""
    repo = InviteRepository(dep.output("InvitesTableName"), table=dep.table("InvitesTableName"))
    flow = "facebook" if facebook else "instagram"
    issued = invites.issue(repo, flow=flow, label=label, now=int(time.time()) if now is None else now,
                           ttl_s=valid_for_s)
    base = dep.output("FacebookConnectUrl" if facebook else "ConnectUrl")
    return CreatedInvite(f"{base}?invite={issued.invite}", issued.record.label, flow, issued.record.expires_at)


def list_accounts(dep: Deployment) -> list[Account]:
    return accounts_repo(dep).all(public=True)  # never the token (people's policies allow no more)


def only_active_account(dep: Deployment) -> str:
    """The account a command works on when none is named: ``IGPUB_ACCOUNT`` when set, else the one active account
    of the deployment; refused (``RequestInvalid``) when there are several or none."""
    chosen = os.environ.get("IGPUB_ACCOUNT", "").strip()
    if chosen:
        return chosen
    accounts = [a for a in list_accounts(dep) if a.status == "active"]
    if not accounts:
        raise RequestInvalid(["no active account: connect one first (igpub connect), then name it with --account"])
    if len(accounts) > 1:
        raise RequestInvalid([
            "name the account with --account or IGPUB_ACCOUNT (active: "
            + ", ".join(f"@{a.username}={a.account_id}" for a in accounts) + ")"
        ])
    return accounts[0].account_id
