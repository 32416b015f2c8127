"""Accounts: the connected Instagram professional account (its model carries no plaintext token, ever)
and keeping its token alive (``igpub.accounts.refresh``, the refresher function's schedule)."""

from __future__ import annotations

from igpub.accounts.model import PUBLIC_ATTRIBUTES, Account, AccountStatus

__all__ = ["PUBLIC_ATTRIBUTES", "Account", "AccountStatus"]
