"""The connected-account model (no plaintext token, ever)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# deauthorized: the person removed the app (Meta's deauthorize callback) or the operator disconnected the
# account (igpub disconnect); its token is deleted and nothing is published for it any more.
AccountStatus = Literal["active", "needs_reauth", "deauthorized"]


class Account(BaseModel):
    account_id: str  # the Instagram professional account id (`user_id` of /me), used to publish
    username: str
    account_type: str | None = None
    app_scoped_id: str | None = None
    scopes: list[str] = Field(default_factory=list)
    status: AccountStatus = "active"
    token_issued_at: int  # epoch seconds
    token_expires_at: int
    token_version: int = 0
    connected_at: str
    updated_at: str
    reauth_reason: str | None = None
    deauthorized_at: str | None = None
    deauthorized_by: str | None = None  # instagram | facebook (Meta's callbacks) | operator (igpub disconnect)
    token_ciphertext: bytes = Field(default=b"", repr=False, exclude=True)

    def days_left(self, now: float) -> float:
        return round((self.token_expires_at - now) / 86400, 1)


# What people may read of an account (the CLI reads only these, by projection; the template's people
# policies allow only these attributes of the accounts table): every field but the token's ciphertext.
PUBLIC_ATTRIBUTES: tuple[str, ...] = tuple(name for name in Account.model_fields if name != "token_ciphertext")
