"""What the publishing tasks work with (built by igpub.wiring), and the post they work on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.publishing.outcome import Outcome, failed
from igpub.publishing.request import PostRequest
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.media import MediaStore
from igpub.repositories.posts import PostRecord, PostRepository
from igpub.repositories.tokens import TokenCipher


class PublishGuard(Protocol):
    """Runs a publish attempt at most once at a time per key, and answers a finished one from its
    record (igpub.repositories.idempotency); raises PublishInProgress while another runs."""

    def __call__(self, attempt: Callable[[], Outcome], key: str) -> Outcome: ...


class HashtagCaptions(Protocol):
    """Adds hashtags from the request's pool to its caption (igpub.hashtags.HashtagService)."""

    def caption_for(self, req: PostRequest, *, post_id: str) -> tuple[str, list[str]]: ...


@dataclass
class Deps:
    settings: Settings
    posts: PostRepository
    accounts: AccountRepository
    cipher: TokenCipher
    client: InstagramClient
    media: MediaStore
    clock: Callable[[], float] = time.time
    publish_guard: PublishGuard | None = None
    hashtags: HashtagCaptions | None = None  # igpub.hashtags.HashtagService
    _tokens: dict[tuple[str, int, bytes], str] = field(default_factory=dict, repr=False)

    def token(self, account: Account) -> str:
        """The account's plaintext token, decrypted once per token version per process."""
        # the ciphertext too: an account whose data was deleted and that connects again starts its
        # token_version afresh (issue 22), and must not get the old token from this cache
        key = (account.account_id, account.token_version, account.token_ciphertext)
        if key not in self._tokens:
            self._tokens.clear()
            self._tokens[key] = self.cipher.decrypt(account.token_ciphertext, account_id=account.account_id)
        return self._tokens[key]


def load(deps: Deps, post_id: str) -> tuple[PostRecord, PostRequest, Account | None]:
    rec = deps.posts.get(post_id)
    if rec is None:
        raise LookupError(f"post {post_id} has no record")
    req = PostRequest.model_validate_json(rec.request)
    return rec, req, deps.accounts.get(rec.account_id)


def deauthorized(account: Account) -> Outcome:
    return failed(
        f"Not published: @{account.username} was disconnected from igpub ({account.deauthorized_by}, "
        f"{account.deauthorized_at}). Connect the account again to publish.",
        "deauthorized",
    )


def usable(account: Account | None, rec: PostRecord) -> Outcome | None:
    if account is None:
        return failed(f"Account {rec.account_id} is no longer connected.", "no_account")
    if account.status == "deauthorized":  # issue 22: the person removed the app, or igpub disconnect
        return deauthorized(account)
    if account.status != "active":
        return failed(
            f"@{account.username} needs re-authorisation ({account.reauth_reason}). Reconnect it and post again.",
            "needs_reauth",
        )
    return None
