"""Single-use OAuth ``state`` values (DynamoDB, TTL as a clean-up only: expiry is checked here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from botocore.exceptions import ClientError

from igpub.repositories import aws


@dataclass(frozen=True)
class OAuthState:
    state: str
    flow: str
    created_at: int
    expires_at: int
    invite_hash: str | None = None  # the connect invite this sign-in session was started with


class StateRepository(aws.TableRepository):
    def create(self, *, flow: str, now: int, ttl_s: int, invite_hash: str | None = None) -> OAuthState:
        state = OAuthState(secrets.token_urlsafe(32), flow, now, now + ttl_s, invite_hash)
        item: dict[str, str | int] = {
            "state": state.state, "flow": flow, "created_at": now, "expires_at": state.expires_at,
        }
        if invite_hash:
            item["invite_hash"] = invite_hash
        self.table.put_item(
            Item=item,
            ConditionExpression="attribute_not_exists(#s)",
            ExpressionAttributeNames={"#s": "state"},
        )
        return state

    def consume(self, state: str) -> OAuthState | None:
        """Delete the state and return it; None when it is unknown or was already used.

        The conditional delete makes this atomic: two callbacks with one state get it once.
        """
        if not state or len(state) > 256:
            return None
        try:
            resp = self.table.delete_item(
                Key={"state": state},
                ConditionExpression="attribute_exists(#s)",
                ExpressionAttributeNames={"#s": "state"},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        item = resp.get("Attributes") or {}
        if not item:
            return None
        return OAuthState(
            state=str(item["state"]),
            flow=str(item.get("flow", "instagram")),
            created_at=int(item["created_at"]),  # type: ignore[arg-type]
            expires_at=int(item["expires_at"]),  # type: ignore[arg-type]
            invite_hash=str(item["invite_hash"]) if item.get("invite_hash") else None,
        )
