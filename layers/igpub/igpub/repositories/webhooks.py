"""Webhook changes received from Instagram (DynamoDB, one item per change, with an expiry).

Item: pk (the de-duplication key: account#field#comment-id, or a hash of the change), account_id,
field, comment_id, media_id, author_id, own, event (the detail type put on the bus, or null),
event_sent, value (the change's JSON), sent_at, received_at, expires_at (TTL; code never relies on
TTL deletion: a stored key only de-duplicates).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from igpub.repositories import aws


class WebhookEventRepository(aws.TableRepository):
    def claim(self, key: str, item: dict[str, Any]) -> bool:
        clean = {k: v for k, v in item.items() if v is not None}
        clean["pk"] = key
        try:
            self.table.put_item(Item=clean, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def pending_event(self, key: str) -> bool:
        item = self.table.get_item(Key={"pk": key}, ConsistentRead=True).get("Item") or {}
        return bool(item) and not item.get("event_sent", True)

    def mark_event_sent(self, key: str, now: float) -> None:
        self.table.update_item(
            Key={"pk": key},
            UpdateExpression="SET event_sent = :t, event_sent_at = :now",
            ExpressionAttributeValues={":t": True, ":now": int(now)},
        )

    def for_account(self, account_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Stored changes of an account (a scan with a filter: for tests and small deployments)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "account_id = :a",
            "ExpressionAttributeValues": {":a": account_id},
        }
        while True:
            resp = self.table.scan(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp or len(items) >= limit:
                return items[:limit]
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
