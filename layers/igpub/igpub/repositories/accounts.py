"""Accounts and their KMS-encrypted tokens in DynamoDB.

Item: account_id (PK), username, account_type, app_scoped_id, scopes, status, token_ciphertext
(KMS ciphertext, binary), token_issued_at, token_expires_at, token_version (+1 on every token
write, for conditional refreshes), connected_at, updated_at, reauth_reason, and ``refresh_pool``
(present only while the account is active: the partition key of the sparse ``refresh-due`` GSI,
whose sort key is token_expires_at).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from igpub.accounts import PUBLIC_ATTRIBUTES, Account
from igpub.repositories import aws

REFRESH_INDEX = "refresh-due"
ACTIVE_POOL = "active"


class StaleTokenVersion(Exception):
    """The account's token changed since it was read (a reconnect or another refresh won)."""


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


def _to_account(item: dict[str, Any]) -> Account:
    data = dict(item)
    blob = data.pop("token_ciphertext", b"")
    data.pop("refresh_pool", None)
    for key in ("token_issued_at", "token_expires_at", "token_version"):
        if key in data:
            data[key] = int(data[key])
    data["scopes"] = list(data.get("scopes") or [])
    account = Account.model_validate(data)
    account.token_ciphertext = bytes(blob.value if hasattr(blob, "value") else blob)
    return account


class AccountRepository(aws.TableRepository):
    def save_connection(
        self,
        *,
        account_id: str,
        username: str,
        account_type: str | None,
        app_scoped_id: str | None,
        scopes: list[str],
        token_ciphertext: bytes,
        issued_at: int,
        expires_at: int,
        now: float,
    ) -> Account:
        """Create the account, or replace the token of an existing one (a reconnect)."""
        resp = self.table.update_item(
            Key={"account_id": account_id},
            UpdateExpression=(
                "SET username = :u, account_type = :t, app_scoped_id = :a, scopes = :s, #st = :active,"
                " token_ciphertext = :c, token_issued_at = :i, token_expires_at = :e, updated_at = :now,"
                " connected_at = if_not_exists(connected_at, :now), refresh_pool = :pool"
                " REMOVE reauth_reason, deauthorized_at, deauthorized_by ADD token_version :one"
            ),
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":u": username,
                ":t": account_type or "",
                ":a": app_scoped_id or "",
                ":s": scopes,
                ":active": "active",
                ":c": token_ciphertext,
                ":i": issued_at,
                ":e": expires_at,
                ":now": _iso(now),
                ":pool": ACTIVE_POOL,
                ":one": 1,
            },
            ReturnValues="ALL_NEW",
        )
        return _to_account(resp["Attributes"])

    def get(self, account_id: str, *, public: bool = False) -> Account | None:
        """The account; with ``public``, read without its token (what people's policies allow)."""
        item = self.table.get_item(
            Key={"account_id": account_id}, ConsistentRead=True, **aws.project(PUBLIC_ATTRIBUTES if public else ())
        ).get("Item")
        return _to_account(item) if item else None

    def all(self, *, public: bool = False) -> list[Account]:
        """Every account, by username; with ``public``, without tokens (what people's policies allow)."""
        items = self.scan_all(PUBLIC_ATTRIBUTES if public else ())
        return sorted((_to_account(i) for i in items), key=lambda a: a.username)

    def replace_token(
        self,
        account_id: str,
        *,
        expected_version: int,
        token_ciphertext: bytes,
        issued_at: int,
        expires_at: int,
        now: float,
    ) -> Account:
        """Store a refreshed token unless the token changed since it was read."""
        try:
            resp = self.table.update_item(
                Key={"account_id": account_id},
                UpdateExpression=(
                    "SET token_ciphertext = :c, token_issued_at = :i, token_expires_at = :e, updated_at = :now"
                    " ADD token_version :one"
                ),
                ConditionExpression="token_version = :v AND #st = :active",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":c": token_ciphertext,
                    ":i": issued_at,
                    ":e": expires_at,
                    ":now": _iso(now),
                    ":one": 1,
                    ":v": expected_version,
                    ":active": "active",
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleTokenVersion(account_id) from exc
            raise
        return _to_account(resp["Attributes"])

    def mark_needs_reauth(self, account_id: str, *, reason: str, expected_version: int, now: float) -> None:
        """Flag the account (and take it out of the refresh index) unless its token changed."""
        try:
            self.table.update_item(
                Key={"account_id": account_id},
                UpdateExpression="SET #st = :s, reauth_reason = :r, updated_at = :now REMOVE refresh_pool",
                ConditionExpression="token_version = :v",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":s": "needs_reauth",
                    ":r": reason,
                    ":now": _iso(now),
                    ":v": expected_version,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleTokenVersion(account_id) from exc
            raise

    def due_for_refresh(
        self,
        *,
        expires_before: int,
        limit: int | None = None,
        start_key: dict[str, Any] | None = None,
    ) -> tuple[list[Account], dict[str, Any] | None, int]:
        """Active accounts whose token expires before ``expires_before`` (reads only those).

        Returns (accounts, next start key, items read).
        """
        kwargs: dict[str, Any] = {
            "IndexName": REFRESH_INDEX,
            "KeyConditionExpression": Key("refresh_pool").eq(ACTIVE_POOL) & Key("token_expires_at").lte(expires_before),
        }
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        resp = self.table.query(**kwargs)
        items = resp.get("Items", [])
        return [_to_account(i) for i in items], resp.get("LastEvaluatedKey"), int(resp.get("ScannedCount", len(items)))

    # ------------------------------------------------------------------ deauthorization and deletion

    def mark_deauthorized(self, account_id: str, *, by: str, now: float) -> Account | None:
        """Record that the account may no longer be used: status ``deauthorized``, the token ciphertext
        deleted, out of the refresh index, ``token_version`` moved on (so a refresh or a needs-reauth mark
        that read the old token cannot write over this). None when the account is unknown or was already
        deauthorized (nothing changes then)."""
        try:
            resp = self.table.update_item(
                Key={"account_id": account_id},
                UpdateExpression=(
                    "SET #st = :d, deauthorized_at = :now, deauthorized_by = :by, updated_at = :now"
                    " REMOVE token_ciphertext, refresh_pool, reauth_reason ADD token_version :one"
                ),
                ConditionExpression="attribute_exists(account_id) AND #st <> :d",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":d": "deauthorized", ":now": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
                    ":by": by, ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _to_account(resp["Attributes"])

    def find(self, any_id: str) -> list[Account]:
        """The accounts that ``any_id`` names: as the account id (the key) or as the app-scoped id
        (``id`` of /me) stored at connect time. The second is a scan with a filter: the accounts table
        holds one item per connected account (hundreds at most)."""
        found: dict[str, Account] = {}
        direct = self.get(any_id)
        if direct is not None:
            found[direct.account_id] = direct
        kwargs: dict[str, Any] = {
            "FilterExpression": "app_scoped_id = :i",
            "ExpressionAttributeValues": {":i": any_id},
            "ConsistentRead": True,
        }
        while True:
            resp = self.table.scan(**kwargs)
            for item in resp.get("Items", []):
                account = _to_account(item)
                found[account.account_id] = account
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return list(found.values())

    def delete(self, account_id: str) -> bool:
        """Delete the account's item (data deletion); True when it existed."""
        resp = self.table.delete_item(Key={"account_id": account_id}, ReturnValues="ALL_OLD")
        return bool(resp.get("Attributes"))
