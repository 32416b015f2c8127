"""Data deletion requests (DynamoDB): what the status page shows, and how a second request for the same
person finds the first one's confirmation code.

Two kinds of item, partition key ``pk``:

* ``request#<code>``: ``code``, ``status`` (``received`` | ``in_progress`` | ``done`` | ``refused``),
  ``source`` (``instagram`` | ``facebook``: Meta's callback; ``operator``: igpub disconnect --delete-data),
  ``requested_at``, ``started_at``, ``completed_at`` (epoch s), ``reason`` (why it was refused),
  ``summary`` (what was deleted, counts by kind), ``subject_ids`` (the person's ids, ONLY while the
  request is pending: the deletion needs them; removed when it is done), ``expires_at`` once final.
* ``subject#<hmac>``: ``code``: the request a person's id leads to. The id itself is never stored: the key
  is HMAC-SHA256 of the id keyed with a secret of the deployment, so the table does not say whose request
  it was, yet a second request for the same person finds the first (and gets its code).

Records are kept ``RETENTION_DAYS`` after the request ends, so the person can read its status, then
expire (``expires_at``; the code checks it too, DynamoDB's TTL is a clean-up only).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from botocore.exceptions import ClientError

from igpub.repositories import aws

DeletionStatus = Literal["received", "in_progress", "done", "refused"]
RETENTION_DAYS = 90
CODE_ALPHABET = string.ascii_uppercase + string.digits
CODE_LENGTH = 24  # 36^24, about 124 bits: unguessable


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def valid_code(code: str | None) -> bool:
    return bool(code) and len(code or "") == CODE_LENGTH and all(c in CODE_ALPHABET for c in code or "")


def subject_key(person_id: str, key: str) -> str:
    return hmac.new(key.encode(), f"igpub-deletion-subject:{person_id}".encode(), hashlib.sha256).hexdigest()


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, Decimal | int | float) else None


@dataclass(frozen=True)
class DeletionRequest:
    code: str
    status: DeletionStatus
    source: str
    requested_at: int
    started_at: int | None = None
    completed_at: int | None = None
    reason: str | None = None
    summary: dict[str, int] = field(default_factory=dict)
    subject_ids: tuple[str, ...] = ()
    expires_at: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> DeletionRequest:
        summary = item.get("summary") or {}
        return cls(
            code=str(item["code"]),
            status=item.get("status", "received"),
            source=str(item.get("source", "")),
            requested_at=_int(item.get("requested_at")) or 0,
            started_at=_int(item.get("started_at")),
            completed_at=_int(item.get("completed_at")),
            reason=str(item["reason"]) if item.get("reason") else None,
            summary={str(k): _int(v) or 0 for k, v in summary.items()} if isinstance(summary, dict) else {},
            subject_ids=tuple(str(i) for i in item.get("subject_ids") or ()),
            expires_at=_int(item.get("expires_at")),
        )

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class DeletionRepository(aws.TableRepository):
    def get(self, code: str, *, now: float | None = None) -> DeletionRequest | None:
        if not valid_code(code):
            return None
        item = self.table.get_item(Key={"pk": f"request#{code}"}, ConsistentRead=True).get("Item")
        if not item:
            return None
        req = DeletionRequest.from_item(dict(item))
        return None if now is not None and req.expired(now) else req

    def open(self, *, person_ids: list[str], key: str, source: str, now: float) -> tuple[DeletionRequest, bool]:
        """The person's pending (or earlier) request, or a new one. Returns (request, created). A repeat
        request gets the first one's code and runs again (deleting twice is harmless)."""
        keys = [subject_key(i, key) for i in dict.fromkeys(person_ids) if i]
        code = None
        for k in keys:
            item = self.table.get_item(Key={"pk": f"subject#{k}"}, ConsistentRead=True).get("Item")
            if item:
                found = self.get(str(item["code"]), now=now)
                if found is not None:
                    code = found.code
                    break
        created = code is None
        if code is None:
            code = new_code()
        for k in keys:  # every id of the person leads to the code (Meta may send either)
            self.table.put_item(Item={"pk": f"subject#{k}", "code": code})
        resp = self.table.update_item(
            Key={"pk": f"request#{code}"},
            UpdateExpression=(
                "SET code = :c, #st = :received, #src = if_not_exists(#src, :src),"
                " requested_at = if_not_exists(requested_at, :now), last_requested_at = :now, subject_ids = :ids"
                " REMOVE expires_at, reason"
            ),
            ExpressionAttributeNames={"#st": "status", "#src": "source"},
            ExpressionAttributeValues={
                ":c": code, ":received": "received", ":src": source, ":now": int(now),
                ":ids": list(dict.fromkeys(i for i in person_ids if i)),
            },
            ReturnValues="ALL_NEW",
        )
        return DeletionRequest.from_item(dict(resp["Attributes"])), created

    def start(self, code: str, *, now: float) -> DeletionRequest | None:
        """received -> in_progress; None when the request is not pending (already done or refused)."""
        try:
            resp = self.table.update_item(
                Key={"pk": f"request#{code}"},
                UpdateExpression="SET #st = :p, started_at = :now",
                ConditionExpression="#st IN (:received, :p)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":p": "in_progress", ":received": "received", ":now": int(now)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return DeletionRequest.from_item(dict(resp["Attributes"]))

    def finish(self, code: str, *, summary: dict[str, int], now: float) -> None:
        """in_progress -> done, forgetting the person's ids."""
        self.table.update_item(
            Key={"pk": f"request#{code}"},
            UpdateExpression="SET #st = :done, completed_at = :now, summary = :s, expires_at = :exp REMOVE subject_ids",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":done": "done", ":now": int(now), ":s": summary, ":exp": int(now) + RETENTION_DAYS * 86400,
            },
        )

    def refuse(self, code: str, *, reason: str, now: float) -> DeletionRequest | None:
        """Record a refusal with its justification (shown on the status page); only while pending."""
        try:
            resp = self.table.update_item(
                Key={"pk": f"request#{code}"},
                UpdateExpression=(
                    "SET #st = :r, reason = :why, completed_at = :now, expires_at = :exp REMOVE subject_ids"
                ),
                ConditionExpression="#st IN (:received, :p)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":r": "refused", ":why": reason, ":now": int(now), ":received": "received", ":p": "in_progress",
                    ":exp": int(now) + RETENTION_DAYS * 86400,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return DeletionRequest.from_item(dict(resp["Attributes"]))

    def all(self, *, now: float, projection: tuple[str, ...] = ()) -> list[DeletionRequest]:
        """Every request on record (not expired), newest first; only the ``projection`` attributes when
        given (people's policies allow reading these, never a running request's ids)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :r)", "ExpressionAttributeValues": {":r": "request#"},
            **aws.project(projection),
        }
        while True:
            resp = self.table.scan(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        found = [DeletionRequest.from_item(dict(i)) for i in items]
        return sorted((r for r in found if not r.expired(now)), key=lambda r: r.requested_at, reverse=True)
