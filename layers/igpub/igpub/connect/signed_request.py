"""Meta's ``signed_request``: the one form field of the deauthorize and data deletion callbacks.

https://developers.facebook.com/docs/apps/delete-data (the PHP sample ``parse_signed_request``)

Form: ``<encoded_sig>.<payload>``, both base64url without padding. ``payload`` decodes to JSON such as
``{"algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": "218471"}``.
The check: refuse unless ``algorithm`` is ``HMAC-SHA256``; the signature is HMAC-SHA256 keyed with the app
secret over the payload part *exactly as received* (still base64url-encoded), compared in constant time.
Which secret signs for Instagram Login apps (the Instagram app secret or the Meta app secret) is not stated
by Meta: a signature by any of the given secrets is accepted (every candidate is compared, so the time
taken does not say which one matched).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ALGORITHM = "HMAC-SHA256"
MAX_LENGTH = 8192  # Meta's payloads are a few hundred bytes


class SignedRequestRefused(Exception):
    """The request is malformed, unsigned, signed with another key, or names another algorithm.

    ``reason`` is for igpub's logs only; the caller answers every refusal alike."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedRequest:
    user_id: str  # the app-scoped id of the person
    payload: dict[str, Any]

    @property
    def issued_at(self) -> int | None:
        raw = self.payload.get("issued_at")
        return int(raw) if isinstance(raw, int | float) else None


def b64url_decode(part: str) -> bytes:
    """base64url without padding (padding tolerated); raises ValueError on anything else."""
    if not part or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in part):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(payload: dict[str, Any], secret: str) -> str:
    """A signed_request as Meta builds it (for tests and the fake Instagram)."""
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return f"{b64url_encode(sig)}.{body}"


def verify(signed_request: str | None, secrets: Sequence[str]) -> SignedRequest:
    """The verified payload, or SignedRequestRefused. ``secrets``: every secret that may sign (empty ones
    are skipped; with none at all, everything is refused)."""
    if not signed_request or len(signed_request) > MAX_LENGTH or signed_request.count(".") != 1:
        raise SignedRequestRefused("malformed")
    encoded_sig, payload_part = signed_request.split(".", 1)
    try:
        given = b64url_decode(encoded_sig)
        raw = b64url_decode(payload_part)
    except ValueError:
        raise SignedRequestRefused("not base64url") from None
    keys = [s for s in secrets if s]
    if not keys:
        raise SignedRequestRefused("no secret configured")
    matched = False
    for key in keys:  # no early exit: every candidate is compared
        expected = hmac.new(key.encode(), payload_part.encode("ascii"), hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise SignedRequestRefused("bad signature")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise SignedRequestRefused("payload is not JSON") from None
    if not isinstance(payload, dict):
        raise SignedRequestRefused("payload is not an object")
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        raise SignedRequestRefused("unexpected algorithm")
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
        raise SignedRequestRefused("no user_id")
    return SignedRequest(user_id=str(user_id).strip(), payload=payload)
