"""Connect invites (DynamoDB): single-use, expiring links that let one person connect one account.

Only a SHA-256 digest of the invite is stored (key ``invite_hash``): reading the table does not give
anyone a usable link. Expiry is checked here; the table's TTL is a clean-up only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from igpub.repositories import aws

MAX_INVITE_LEN = 128


def digest(invite: str) -> str:
    return hashlib.sha256(invite.encode()).hexdigest()


@dataclass(frozen=True)
class Invite:
    invite_hash: str
    flow: str  # "instagram" | "facebook"
    label: str
    created_at: int
    expires_at: int
    used_at: int | None = None
    account_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Invite:
        return cls(
            invite_hash=str(item["invite_hash"]),
            flow=str(item["flow"]),
            label=str(item.get("label") or ""),
            created_at=int(item["created_at"]),
            expires_at=int(item["expires_at"]),
            used_at=int(item["used_at"]) if item.get("used_at") is not None else None,
            account_id=str(item["account_id"]) if item.get("account_id") else None,
        )


class InviteRepository(aws.TableRepository):
    def create(self, invite: str, *, flow: str, label: str, now: int, expires_at: int) -> Invite:
        record = Invite(digest(invite), flow, label, now, expires_at)
        item: dict[str, Any] = {
            "invite_hash": record.invite_hash, "flow": flow, "created_at": now, "expires_at": expires_at,
        }
        if label:
            item["label"] = label
        self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(invite_hash)")
        return record

    def get(self, invite: str) -> Invite | None:
        if not invite or len(invite) > MAX_INVITE_LEN:
            return None
        item = self.table.get_item(Key={"invite_hash": digest(invite)}, ConsistentRead=True).get("Item")
        return Invite.from_item(dict(item)) if item else None

    def by_hash(self, invite_hash: str) -> Invite | None:
        item = self.table.get_item(Key={"invite_hash": invite_hash}, ConsistentRead=True).get("Item")
        return Invite.from_item(dict(item)) if item else None

    def claim(self, invite_hash: str, *, now: int) -> Invite | None:
        """Mark the invite used (atomically: of two callbacks with one invite, one wins); None when it
        is unknown, already used or expired (the expiry is part of the condition: a sign-in started just
        before it expired cannot spend it after)."""
        try:
            resp = self.table.update_item(
                Key={"invite_hash": invite_hash},
                UpdateExpression="SET used_at = :now",
                ConditionExpression=(
                    "attribute_exists(invite_hash) AND attribute_not_exists(used_at) AND expires_at > :now"
                ),
                ExpressionAttributeValues={":now": now},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return Invite.from_item(dict(resp["Attributes"]))

    def release(self, invite_hash: str, *, used_at: int) -> None:
        """Undo this claim (the connection failed): the invite can be used again until it expires."""
        try:
            self.table.update_item(
                Key={"invite_hash": invite_hash},
                UpdateExpression="REMOVE used_at",
                ConditionExpression="used_at = :claimed AND attribute_not_exists(account_id)",
                ExpressionAttributeValues={":claimed": used_at},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def record_account(self, invite_hash: str, account_id: str) -> None:
        self.table.update_item(
            Key={"invite_hash": invite_hash},
            UpdateExpression="SET account_id = :a",
            ExpressionAttributeValues={":a": account_id},
        )
