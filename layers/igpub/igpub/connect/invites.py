"""Only invited people connect: ``igpub connect`` issues a single-use, expiring invite; ``GET
/connect?invite=...`` (and ``/connect/facebook``) start the OAuth flow only with a valid one.

When an invite is spent: the callback claims it (conditional write) after checking the OAuth state
and before any call to Instagram or Meta. If the connection then fails (consent denied, Instagram
refuses the code), the claim is released and the link works again until it expires; once an account
is saved with it (``after_save``, before anything else can fail), it is used for good. The claim's
condition includes the expiry: an invite cannot be spent after it expired, even by a sign-in started in
time. Opening the link twice before finishing gives two sign-in sessions, of which only the first to
complete connects.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from igpub.repositories.invites import Invite, InviteRepository
from igpub.repositories.states import OAuthState

DEFAULT_TTL_S = 7 * 86400
MAX_TTL_S = 90 * 86400
MAX_LABEL_LEN = 100
FLOWS = ("instagram", "facebook")


class InviteRefused(Exception):
    """No valid invite: the route answers 403 with this page, and nothing is stored."""

    status = 403

    def __init__(self, reason: str, title: str, detail: str) -> None:
        super().__init__(f"{reason}: {title}")
        self.reason = reason  # missing | unknown | used | expired | wrong_flow (logged, a metric dimension)
        self.title = title
        self.detail = detail


@dataclass(frozen=True)
class IssuedInvite:
    invite: str  # the secret part of the link; stored only as a digest
    record: Invite


def issue(
    invites: InviteRepository, *, flow: str, label: str = "", now: int, ttl_s: int = DEFAULT_TTL_S
) -> IssuedInvite:
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {FLOWS}")
    if not 60 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"an invite lives between 1 minute and {MAX_TTL_S // 86400} days")
    label = " ".join(label.split())
    if len(label) > MAX_LABEL_LEN:
        raise ValueError(f"the label is longer than {MAX_LABEL_LEN} characters")
    invite = secrets.token_urlsafe(32)
    return IssuedInvite(invite, invites.create(invite, flow=flow, label=label, now=now, expires_at=now + ttl_s))


_ASK = "Ask the team that runs this igpub for a new invite link."


def check(invites: InviteRepository, invite: str | None, *, flow: str, now: int) -> Invite:
    """The invite behind this link, if it may start a connection now; else InviteRefused."""
    if not invite:
        raise InviteRefused(
            "missing", "An invite is needed to connect",
            "This igpub connects only the accounts its team invites. Open the invite link you were sent, "
            f"in full. {_ASK}",
        )
    record = invites.get(invite)
    if record is None:
        raise InviteRefused("unknown", "This invite link is not valid",
                            f"Check that you opened the whole link you were sent. {_ASK}")
    if record.flow != flow:
        other = "an Instagram account" if record.flow == "instagram" else "Facebook Login (hashtag discovery)"
        raise InviteRefused("wrong_flow", "This invite is for another connection",
                            f"This link connects {other}; open the link exactly as you received it.")
    if record.used_at is not None:
        raise InviteRefused("used", "This invite link was already used",
                            f"Each invite connects one account, once. {_ASK}")
    if record.expires_at <= now:
        when = datetime.fromtimestamp(record.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise InviteRefused("expired", "This invite link has expired", f"It was valid until {when}. {_ASK}")
    return record


def claim(invites: InviteRepository, invite_hash: str | None, *, now: int) -> Invite:
    """Spend the invite a sign-in session was started with (before any call to Instagram)."""
    record = invites.claim(invite_hash, now=now) if invite_hash else None
    if record is None:
        seen = invites.by_hash(invite_hash) if invite_hash else None
        if seen is not None and seen.used_at is None and seen.expires_at <= now:
            when = datetime.fromtimestamp(seen.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise InviteRefused("expired", "This invite link has expired", f"It was valid until {when}. {_ASK}")
        raise InviteRefused("used", "This invite link was already used",
                            f"Another sign-in with the same invite finished first. {_ASK}")
    return record


class InviteGate:
    """The invite side of one OAuth callback: claims the session's invite once its state checks out
    (pass it as ``after_state``), releases it when the connection fails, records the account when it
    succeeds."""

    def __init__(self, invites: InviteRepository, *, now: int) -> None:
        self._invites = invites
        self._now = now
        self.claimed: Invite | None = None

    def __call__(self, state: OAuthState) -> None:
        self.claimed = claim(self._invites, state.invite_hash, now=self._now)

    def failed(self) -> None:
        if self.claimed is not None:
            self._invites.release(self.claimed.invite_hash, used_at=self._now)

    def succeeded(self, account_id: str) -> None:
        """The account is connected (called as soon as it is saved, and again at the end): the invite is
        spent for good, and a failure after this no longer releases it."""
        if self.claimed is not None and account_id:
            self._invites.record_account(self.claimed.invite_hash, account_id)
