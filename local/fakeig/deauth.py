"""Meta's deauthorize and data deletion callbacks: "the person removes the app" and "the person asks for
their data to be deleted" (https://developers.facebook.com/docs/apps/delete-data).

Meta POSTs ``application/x-www-form-urlencoded`` with one field, ``signed_request`` =
``<base64url(HMAC-SHA256(app secret, payload part))>.<base64url(JSON payload)>`` (no padding), the
payload ``{"algorithm": "HMAC-SHA256", "expires": ..., "issued_at": ..., "user_id": "<app-scoped id>"}``.
Removing the app revokes the person's tokens for it first (every later call answers 190, subcode 458),
and turns off the account's webhooks. The control API picks variants for tests: a wrong secret, a wrong
algorithm, a tampered payload (changed after signing), and which id is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from fakeig.state import IGUser
from fakeig.tls import tls_context

if TYPE_CHECKING:
    from fakeig.context import FakeState

REMOVED_SUBCODE = 458  # "The user has not authorized application <app>" (Graph API error 190)
IG_TOKEN_KINDS = ("ig_short", "ig_long")
FB_TOKEN_KINDS = ("fb_short", "fb_long", "fb_page")


class CallbackOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Literal["instagram", "facebook"] = "instagram"
    signature: Literal["valid", "wrong_secret", "missing"] = "valid"
    algorithm: str = "HMAC-SHA256"
    tamper: bool = False  # change the payload after signing (the signature no longer matches)
    id: Literal["config", "user_id", "id", "fb_user_id"] = "config"  # which id the payload carries
    revoke: bool = True  # removal revokes the tokens first (a deletion request does not)
    url: str | None = None  # overrides the registered URL


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_secret(app: FakeState, login: str) -> str:
    cfg = app.config
    if login == "facebook" or cfg.signed_request_secret == "meta":  # noqa: S105 (a choice, not a secret)
        return cfg.fb_app_secret
    return cfg.ig_app_secret


def person_id(app: FakeState, user: IGUser, opts: CallbackOptions) -> str:
    choice = opts.id
    if choice == "config":
        choice = "fb_user_id" if opts.login == "facebook" else app.config.signed_request_id
    return {"user_id": user.user_id, "id": user.id, "fb_user_id": user.fb_user_id}[choice]


def signed_request(app: FakeState, user: IGUser, opts: CallbackOptions) -> tuple[str, dict[str, Any]]:
    now = int(app.now())
    payload: dict[str, Any] = {
        "algorithm": opts.algorithm, "expires": now + 3600, "issued_at": now, "user_id": person_id(app, user, opts),
    }
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    key = app_secret(app, opts.login) if opts.signature == "valid" else "not-the-app-secret"
    sig = b64url(hmac.new(key.encode(), body.encode("ascii"), hashlib.sha256).digest())
    if opts.tamper:
        payload = {**payload, "user_id": str(int(payload["user_id"]) + 1)}
        body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    if opts.signature == "missing":
        return body, payload
    return f"{sig}.{body}", payload


def revoke(app: FakeState, user: IGUser, login: str) -> int:
    kinds = FB_TOKEN_KINDS if login == "facebook" else IG_TOKEN_KINDS
    n = 0
    for tok in app.store.tokens.values():
        if tok.user_id == user.user_id and tok.kind in kinds and tok.revoked_subcode is None:
            tok.revoked_subcode = REMOVED_SUBCODE
            tok.revoked_at = app.now()
            n += 1
    if login == "instagram":
        user.subscribed_fields = []
    return n


def send(app: FakeState, user: IGUser, action: Literal["deauthorize", "data_deletion"],
         opts: CallbackOptions) -> dict[str, Any]:
    """Revoke (for a removal), then POST the signed_request; report what igpub answered.
    The store lock is held by the caller and released around the request."""
    cfg = app.config
    registered = {
        ("instagram", "deauthorize"): cfg.deauthorize_callback_url,
        ("instagram", "data_deletion"): cfg.data_deletion_callback_url,
        ("facebook", "deauthorize"): cfg.fb_deauthorize_callback_url,
        ("facebook", "data_deletion"): cfg.fb_data_deletion_callback_url,
    }[(opts.login, action)]
    url = opts.url or registered
    if not url:
        raise ValueError(f"no {opts.login} {action} callback URL is registered")
    revoked = revoke(app, user, opts.login) if action == "deauthorize" and opts.revoke else 0
    form, payload = signed_request(app, user, opts)
    sent_at = app.now()
    with app.unlocked():
        try:
            resp = httpx.post(url, data={"signed_request": form}, timeout=cfg.signed_request_timeout_seconds,
                              verify=tls_context())
            status: int | str = resp.status_code
            text = resp.text
        except httpx.HTTPError as exc:
            status, text = type(exc).__name__, ""
    try:
        answer: Any = json.loads(text)
    except ValueError:
        answer = text
    return {"status": status, "answer": answer, "payload": payload, "signed_request": form, "revoked": revoked,
            "sent_at": sent_at, "url": url}
