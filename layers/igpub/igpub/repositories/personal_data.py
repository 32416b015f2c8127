"""What igpub holds about one person, table by table, for the data deletion (igpub.connect.deletion).

The person is named by ``Subject``: their ids (the Instagram account id, the app-scoped id, the id Meta's
request carried) and their username. Matching is on whole ids and whole usernames (``@name`` or ``name``
not inside a longer word), never on substrings, so a short username cannot sweep up other people's data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from igpub.repositories import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client

REDACTED = "(deleted)"
FINAL_POST_STATUSES = ("published", "failed", "cancelled")
# what a post record keeps for the team's accounting once its person's data is deleted
KEPT_POST_FIELDS = (
    "post_id", "kind", "status", "caption", "hashtags", "history", "execution_id", "created_at", "updated_at",
    "started_at", "published_at", "failure_code", "failure_reason", "first_comment_text", "first_comment_status",
)


@dataclass(frozen=True)
class Subject:
    ids: tuple[str, ...]
    usernames: tuple[str, ...] = ()

    def pattern(self) -> re.Pattern[str] | None:
        parts = [rf"(?<![0-9]){re.escape(i)}(?![0-9])" for i in self.ids if i]
        parts += [rf"(?<![A-Za-z0-9._]){re.escape(u)}(?![A-Za-z0-9_]|\.[A-Za-z0-9_])" for u in self.usernames if u]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def found_in(self, value: Any) -> bool:
        pattern = self.pattern()
        return bool(pattern and pattern.search(_text(value)))

    def redact(self, text: str) -> str:
        pattern = self.pattern()
        return pattern.sub(REDACTED, text) if pattern else text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray) or hasattr(value, "value"):
        return "<binary>"
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(_plain(value), default=str)


def _redact_value(subject: Subject, value: Any) -> Any:
    if isinstance(value, str):
        return subject.redact(value)
    if isinstance(value, list):
        return [_redact_value(subject, v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(subject, v) for k, v in value.items()}
    return value


def _scan(table: Table, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        resp = table.scan(**kwargs)
        yield from resp.get("Items", [])
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


class PersonalDataStore:
    """The tables and the bucket, by name; each method deletes or rewrites one kind of data."""

    def __init__(
        self, *, posts_table: str, usage_table: str, idempotency_table: str, hashtags_table: str,
        webhook_events_table: str, invites_table: str, media_bucket: str, s3: S3Client | None = None,
        table: Callable[[str], Table] = aws.table,
    ) -> None:
        self.posts = table(posts_table)
        self.usage = table(usage_table)
        self.idempotency = table(idempotency_table)
        self.hashtags = table(hashtags_table)
        self.webhook_events = table(webhook_events_table)
        self.invites = table(invites_table)
        self.media_bucket = media_bucket
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = aws.s3()
        return self._s3

    # ------------------------------------------------------------------ posts

    def posts_of(self, account_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"IndexName": "by-account", "KeyConditionExpression": Key("account_id").eq(account_id)}
        while True:
            resp = self.posts.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def end_scheduled_post(self, post_id: str, *, reason: str, code: str, now_iso: str) -> bool:
        """scheduled -> failed with the reason, only while no execution has claimed it for publishing."""
        try:
            self.posts.update_item(
                Key={"post_id": post_id},
                UpdateExpression="SET #st = :f, failure_reason = :r, failure_code = :c, updated_at = :now",
                ConditionExpression="#st = :scheduled",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":f": "failed", ":r": reason, ":c": code, ":now": now_iso,
                                           ":scheduled": "scheduled"},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def scrub_post(self, item: dict[str, Any], subject: Subject, *, pseudonym: str, reason: str, now_iso: str) -> None:
        """Rewrite the post record so it carries no Meta data about the person: Instagram's ids (media,
        containers, comments), the permalink, insights and the request (with the account id) go; the
        team's own words stay, with the person's ids and username redacted; the account id becomes
        ``pseudonym``."""
        kept = {k: _redact_value(subject, _plain(item[k])) for k in KEPT_POST_FIELDS if k in item}
        kept["post_id"] = item["post_id"]
        kept["account_id"] = pseudonym
        try:
            original = json.loads(str(item.get("request") or "{}"))
        except ValueError:
            original = {}
        if not isinstance(original, dict):
            original = {}
        team = {k: original[k] for k in ("publish_at", "client_post_id") if k in original}
        request = {"kind": item.get("kind"), "account_id": pseudonym, **team, "data_deleted": True}
        kept["request"] = subject.redact(json.dumps(request))
        kept["data_deleted_at"] = now_iso
        if kept.get("status") not in FINAL_POST_STATUSES:
            kept["status"], kept["failure_reason"], kept["failure_code"] = "failed", reason, "data_deleted"
        self.posts.put_item(Item=_dynamo(kept))

    # ------------------------------------------------------------------ the other tables

    def delete_usage(self, account_ids: list[str]) -> int:
        n = 0
        for account_id in account_ids:
            resp = self.usage.delete_item(Key={"pk": f"usage#{account_id}"}, ReturnValues="ALL_OLD")
            n += bool(resp.get("Attributes"))
        return n

    def delete_hashtag_data(self, account_ids: list[str]) -> int:
        """Pools, the search budget, rotation memory and the Facebook Login connection of the accounts."""
        n = 0
        for account_id in account_ids:
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"ACCOUNT#{account_id}")}
            while True:
                resp = self.hashtags.query(**kwargs)
                for item in resp.get("Items", []):
                    self.hashtags.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                    n += 1
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return n

    def facebook_connections_of(self, facebook_user_id: str) -> list[str]:
        """The Instagram accounts whose Facebook Login connection that Facebook user made (a scan with a
        filter: one FACEBOOK item per account with hashtag discovery)."""
        if not facebook_user_id:
            return []
        items = _scan(self.hashtags, FilterExpression="sk = :fb AND facebook_user_id = :u",
                      ExpressionAttributeValues={":fb": "FACEBOOK", ":u": facebook_user_id})
        return [str(i["pk"]).removeprefix("ACCOUNT#") for i in items]

    def delete_facebook_data(self, account_id: str) -> int:
        """The Facebook Login connection (token, Page) and the hashtag searches made with it (the budget)."""
        n = 0
        for sk in ("FACEBOOK", "BUDGET"):
            resp = self.hashtags.delete_item(Key={"pk": f"ACCOUNT#{account_id}", "sk": sk}, ReturnValues="ALL_OLD")
            n += bool(resp.get("Attributes"))
        return n

    def delete_facebook_connection(self, account_id: str) -> bool:
        resp = self.hashtags.delete_item(Key={"pk": f"ACCOUNT#{account_id}", "sk": "FACEBOOK"}, ReturnValues="ALL_OLD")
        return bool(resp.get("Attributes"))

    def delete_matching(self, table: Table, key_names: tuple[str, ...], subject: Subject) -> int:
        """Every item of ``table`` that names the person anywhere (webhook events from or about them,
        idempotency records of their posts). These tables are short-lived and small (7 days, 30 days)."""
        n = 0
        for item in _scan(table):
            if subject.found_in(item):
                table.delete_item(Key={k: item[k] for k in key_names})
                n += 1
        return n

    def delete_webhook_events(self, subject: Subject) -> int:
        return self.delete_matching(self.webhook_events, ("pk",), subject)

    def delete_idempotency_records(self, subject: Subject) -> int:
        return self.delete_matching(self.idempotency, ("id",), subject)

    def scrub_invites(self, subject: Subject) -> int:
        """Invites that connected the person's account: the account id goes, the team's label stays
        (with the person's username redacted)."""
        n = 0
        for item in _scan(self.invites):
            if not subject.found_in(item):
                continue
            self.invites.update_item(
                Key={"invite_hash": item["invite_hash"]},
                UpdateExpression="SET label = :l REMOVE account_id",
                ExpressionAttributeValues={":l": subject.redact(str(item.get("label") or ""))},
            )
            n += 1
        return n

    def delete_media(self, post_ids: list[str], subject: Subject, keys: list[str] | None = None) -> int:
        """Objects uploaded for the person's posts (the keys their requests name, and
        ``uploads/<post id>/...``) and any object whose key names the person."""
        if not self.media_bucket:
            return 0
        doomed: set[str] = {k for k in keys or [] if k in set(self._keys(k))}
        for post_id in post_ids:
            doomed |= set(self._keys(f"uploads/{post_id}/"))
        doomed |= {k for k in self._keys("") if subject.found_in(k)}
        for key in sorted(doomed):  # deleting a missing key is not an error in S3
            self.s3.delete_object(Bucket=self.media_bucket, Key=key)
        return len(doomed)

    def _keys(self, prefix: str) -> Iterator[str]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.media_bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    return value


def media_keys(post: dict[str, Any]) -> list[str]:
    """The media bucket keys a post record's request names."""
    try:
        request = json.loads(str(post.get("request") or "{}"))
    except ValueError:
        return []
    items = request.get("media") if isinstance(request, dict) else None
    return [str(m["key"]) for m in items or [] if isinstance(m, dict) and m.get("key")]
