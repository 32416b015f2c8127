"""Post records in DynamoDB: the request, the status, the containers, the result.

One item per post, the fields of ``PostRecord`` below (None fields are not stored). ``status`` is
the post's own life (``PostStatus``), not a task outcome (igpub.publishing.outcome). The counters
``status_checks``, ``transient_retries`` and ``recreations`` bound the workflow's loops;
``publish_attempted_at`` / ``publish_unknown_at`` / ``verified_at`` are the never-twice protocol
(igpub.publishing.publish); ``waiting_for`` says what a post waits for (``quota``), for people and
tests reading the record; ``history`` is what was done to a scheduled post (``{at, action, from, to}``
for each cancel and reschedule). GSI ``by-account``: account_id + created_at.

Scheduled posts are cancelled and moved race-free with conditional writes: the step after the wait
claims the post (scheduled -> creating) only if it is still scheduled and still belongs to its
execution; ``cancel`` succeeds only while the post is scheduled; ``reschedule`` hands the post to a new
execution only while it is scheduled (or cancelled) and still belongs to the old one.
Engagement: insights (stage label -> {collected_at, metrics, error}), insights_stage, and while more
collections are due insights_pool + insights_due_at (the sparse GSI ``insights-due``); first_comment_text,
first_comment_status, first_comment_id, first_comment_reason, first_comment_attempted_at/attempts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from igpub.publishing.kinds import KINDS
from igpub.repositories import aws

PostStatus = Literal["scheduled", "creating", "processing", "published", "failed", "cancelled"]
FINAL: tuple[PostStatus, ...] = ("published", "failed", "cancelled")


class NotOwner(Exception):
    """A status write refused: the post belongs to another execution (or is gone)."""

    def __init__(self, post_id: str, execution_id: str) -> None:
        super().__init__(f"post {post_id} does not belong to {execution_id}")
        self.post_id = post_id
        self.execution_id = execution_id


class PostRecord(BaseModel):
    post_id: str
    account_id: str
    kind: str
    request: str  # JSON
    caption: str = ""
    status: PostStatus
    execution_id: str
    item_containers: list[str] = Field(default_factory=list)
    ready_containers: list[str] = Field(default_factory=list)
    waiting_for: str | None = None
    parent_container: str | None = None
    status_checks: int = 0
    transient_retries: int = 0
    recreations: int = 0
    publish_attempted_at: int | None = None
    publish_unknown_at: int | None = None  # when a publish attempt ended without an answer
    may_be_live: bool | None = None  # failed after a publish was sent whose outcome was never confirmed
    media_id_unknown: str | None = None  # published, but which media it became could not be told apart (why)
    verified_at: int | None = None  # last status read after an attempt whose outcome was unknown
    media_id: str | None = None
    permalink: str | None = None
    published_at: int | None = None
    failure_reason: str | None = None
    failure_code: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    history: list[dict[str, Any]] = Field(default_factory=list)
    insights: dict[str, Any] = Field(default_factory=dict)
    insights_stage: int | None = None
    insights_due_at: int | None = None
    first_comment_text: str | None = None  # final text (with the pool's hashtags when hashtags_in=first_comment)
    first_comment_status: str | None = None  # pending | posted | failed
    first_comment_id: str | None = None
    first_comment_reason: str | None = None
    first_comment_attempted_at: int | None = None
    first_comment_attempts: int = 0
    first_comment_unknown_at: int | None = None  # when a comment create ended without an answer
    # igpub.media.prepare: one entry per prepared item {index, original, rendition, summary} (the original
    # key is kept; request.media[index] then names the rendition)
    media_prepared: list[dict[str, Any]] = Field(default_factory=list)
    created_at: str
    updated_at: str
    started_at: int

    @property
    def publish_container(self) -> str | None:
        """The container handed to media_publish (the carousel parent, or the single item)."""
        spec = KINDS.get(self.kind)  # type: ignore[call-overload]
        if spec is not None and spec.parent:
            return self.parent_container
        return self.item_containers[0] if self.item_containers else None


def iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dynamo(value: Any) -> Any:
    """floats (insights values) as Decimal: the DynamoDB resource refuses floats."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items()}
    return value


def _record(item: dict[str, Any]) -> PostRecord:
    return PostRecord.model_validate(_plain(item))


class PostRepository(aws.TableRepository):
    def claim(self, record: PostRecord) -> tuple[PostRecord, bool]:
        """Create the post, or find it. Returns (record, owned): owned is False when the post id
        belongs to another execution (a duplicate submission). When it already belongs to this
        execution (a retried task, or a post ``reschedule`` handed to it), the new values are written
        but the status, the history and created_at are kept (a post cancelled meanwhile stays cancelled)."""
        try:
            self.table.put_item(
                Item={k: v for k, v in record.model_dump().items() if v is not None},
                ConditionExpression="attribute_not_exists(post_id)",
            )
            return record, True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing = self.get(record.post_id)
        if existing is None:  # deleted in between: try once more
            return self.claim(record)
        if existing.execution_id != record.execution_id:
            return existing, False
        keep = {"post_id", "status", "history", "created_at", "updated_at"}
        fields = {k: v for k, v in record.model_dump().items() if v is not None and k not in keep}
        try:
            return self._update(record.post_id, record.updated_at, fields, condition=(
                "execution_id = :e", {":e": record.execution_id})), True
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return self.claim(record)  # handed to another execution in between: read again

    def claim_for_publishing(self, post_id: str, execution_id: str, now: float) -> PostRecord | None:
        """scheduled -> creating, only if the post is still scheduled (not cancelled) and still belongs to
        ``execution_id`` (not rescheduled); None otherwise. After this, cancel and reschedule refuse."""
        try:
            return self._update(post_id, iso(now), {"status": "creating"}, condition=(
                "#s = :scheduled AND execution_id = :e", {":scheduled": "scheduled", ":e": execution_id}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return None

    def cancel(self, post_id: str, now: float) -> PostRecord | None:
        """scheduled -> cancelled (with a history entry), only while no execution has claimed the post for
        publishing; None when the post is not scheduled (any more)."""
        entry = {"at": iso(now), "action": "cancel", "from": "scheduled", "to": "cancelled"}
        try:
            return self._update(post_id, iso(now), {"status": "cancelled"}, history=entry, condition=(
                "#s = :scheduled", {":scheduled": "scheduled"}))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return None

    def reschedule(
        self, post_id: str, now: float, *, old_execution_id: str, new_execution_id: str, request: str,
        from_at: str | None, to_at: str,
    ) -> PostRecord | None:
        """Hand a scheduled (or cancelled) post to a new execution with a new publish_at; None when it was
        claimed for publishing, or handed to another execution, in between."""
        entry = {"at": iso(now), "action": "reschedule", "from": from_at, "to": to_at}
        try:
            return self._update(
                post_id, iso(now),
                {"status": "scheduled", "execution_id": new_execution_id, "request": request},
                history=entry,
                condition=("#s IN (:scheduled, :cancelled) AND execution_id = :e",
                           {":scheduled": "scheduled", ":cancelled": "cancelled", ":e": old_execution_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return None

    def hand_back(
        self, post_id: str, now: float, *, from_execution_id: str, to_execution_id: str, request: str,
        status: PostStatus, why: str,
    ) -> PostRecord | None:
        """Undo a ``reschedule`` whose new execution could not be started: the post returns to its previous
        execution, request and status, only while the new execution has not claimed it (it never started,
        or it started and will find the post is not its own). None when that is no longer so."""
        entry = {"at": iso(now), "action": "reschedule_undone", "why": why[:300]}
        try:
            return self._update(
                post_id, iso(now), {"status": status, "execution_id": to_execution_id, "request": request},
                history=entry,
                condition=("#s = :scheduled AND execution_id = :e",
                           {":scheduled": "scheduled", ":e": from_execution_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return None

    def abandon(self, post_id: str, now: float, *, execution_id: str, why: str) -> PostRecord | None:
        """Cancel a post left in creating or processing by an execution that is no longer running, and
        whose publish was never sent (a post whose publish was sent may be live: never cancelled here).
        None when the record changed (another owner, a publish sent, a final status)."""
        entry = {"at": iso(now), "action": "cancel", "from": "abandoned", "to": "cancelled", "why": why[:300]}
        try:
            return self._update(
                post_id, iso(now), {"status": "cancelled"}, history=entry,
                condition=("#s IN (:c, :p) AND execution_id = :e AND attribute_not_exists(publish_attempted_at)",
                           {":c": "creating", ":p": "processing", ":e": execution_id}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return None

    def _update(
        self, post_id: str, updated_at: str, fields: dict[str, Any], *, history: dict[str, Any] | None = None,
        condition: tuple[str, dict[str, Any]],
    ) -> PostRecord:
        names: dict[str, str] = {"#s": "status"} if "#s" in condition[0] else {}
        values: dict[str, Any] = {":now": updated_at, **condition[1]}
        sets = ["updated_at = :now"]
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            values[f":v{i}"] = value
            sets.append(f"#f{i} = :v{i}")
        if history is not None:
            values[":entry"], values[":empty"] = [history], []
            sets.append("history = list_append(if_not_exists(history, :empty), :entry)")
        kwargs: dict[str, Any] = {
            "Key": {"post_id": post_id},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": f"attribute_exists(post_id) AND ({condition[0]})",
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        resp = self.table.update_item(**kwargs)
        return _record(resp["Attributes"])

    def get(self, post_id: str) -> PostRecord | None:
        item = self.table.get_item(Key={"post_id": post_id}, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def set_status(
        self, post_id: str, now: float, execution_id: str, status: PostStatus, *, remove: tuple[str, ...] = (),
        unless: tuple[PostStatus, ...] = (), **fields: Any,
    ) -> PostRecord:
        """Write ``status`` (and ``fields``) only while the post belongs to ``execution_id`` and its status is
        not one of ``unless``: a record is changed only by the execution that owns it. Raises NotOwner."""
        cond = "execution_id = :owner"
        values: dict[str, Any] = {":owner": execution_id}
        for i, st in enumerate(unless):
            values[f":u{i}"] = st
        if unless:
            cond += " AND NOT #st IN (" + ", ".join(f":u{i}" for i in range(len(unless))) + ")"
        try:
            return self.update(post_id, now, remove=remove, _condition=(cond, values), status=status, **fields)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        raise NotOwner(post_id, execution_id)

    def update_owned(self, post_id: str, now: float, execution_id: str, **fields: Any) -> PostRecord:
        """Write ``fields`` (no status) only while the post belongs to ``execution_id``. Raises NotOwner."""
        try:
            return self.update(post_id, now, _condition=("execution_id = :owner", {":owner": execution_id}), **fields)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        raise NotOwner(post_id, execution_id)

    def update(
        self, post_id: str, now: float, *, remove: tuple[str, ...] = (),
        _condition: tuple[str, dict[str, Any]] | None = None, **fields: Any,
    ) -> PostRecord:
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": iso(now)}
        sets = ["updated_at = :now"]
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            values[f":v{i}"] = _dynamo(value)
            sets.append(f"#f{i} = :v{i}")
        expr = "SET " + ", ".join(sets)
        if remove:
            for j, key in enumerate(remove):
                names[f"#r{j}"] = key
            expr += " REMOVE " + ", ".join(f"#r{j}" for j in range(len(remove)))
        kwargs: dict[str, Any] = {
            "Key": {"post_id": post_id},
            "UpdateExpression": expr,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if _condition is not None:
            kwargs["ConditionExpression"] = f"attribute_exists(post_id) AND {_condition[0]}"
            values.update(_condition[1])
            if "#st" in _condition[0]:
                names["#st"] = "status"
        if names:
            kwargs["ExpressionAttributeNames"] = names
        resp = self.table.update_item(**kwargs)
        return _record(resp["Attributes"])

    def due_for_insights(self, now: float, limit: int = 50) -> list[PostRecord]:
        """Published posts whose next insights collection is due (the sparse ``insights-due`` index)."""
        resp = self.table.query(
            IndexName="insights-due",
            KeyConditionExpression=Key("insights_pool").eq("due") & Key("insights_due_at").lte(int(now)),
            Limit=limit,
        )
        return [_record(i) for i in resp.get("Items", [])]

    def increment(self, post_id: str, counter: str, now: float) -> int:
        resp = self.table.update_item(
            Key={"post_id": post_id},
            UpdateExpression="SET updated_at = :now ADD #c :one",
            ExpressionAttributeNames={"#c": counter},
            ExpressionAttributeValues={":one": 1, ":now": iso(now)},
            ReturnValues="UPDATED_NEW",
        )
        return int(resp["Attributes"][counter])  # type: ignore[arg-type]

    def recent(self, *, account_id: str | None = None, limit: int = 20) -> list[PostRecord]:
        if account_id:
            resp = self.table.query(
                IndexName="by-account",
                KeyConditionExpression=Key("account_id").eq(account_id),
                ScanIndexForward=False,
                Limit=limit,
            )
            return [_record(i) for i in resp.get("Items", [])]
        records = sorted((_record(i) for i in self.scan_all()), key=lambda r: r.created_at, reverse=True)
        return records[:limit]

    def published_since(self, account_id: str, since: int) -> list[int]:
        """published_at of this account's posts published at or after ``since`` (for the quota window)."""
        out: list[int] = []
        kwargs: dict[str, Any] = {
            "IndexName": "by-account",
            "KeyConditionExpression": Key("account_id").eq(account_id),
            "FilterExpression": Attr("published_at").gte(since),
            "ProjectionExpression": "published_at",
        }
        while True:
            resp = self.table.query(**kwargs)
            out.extend(int(i["published_at"]) for i in resp.get("Items", []))  # type: ignore[arg-type]
            if "LastEvaluatedKey" not in resp:
                return sorted(out)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def attempted_since(self, account_id: str, since: int) -> list[PostRecord]:
        """The account's posts whose publish was sent, or that were published, at or after ``since``
        (to tell apart the media of recovered publishes: igpub.publishing.publish)."""
        out: list[PostRecord] = []
        kwargs: dict[str, Any] = {
            "IndexName": "by-account",
            "KeyConditionExpression": Key("account_id").eq(account_id),
            "FilterExpression": Attr("publish_attempted_at").gte(since) | Attr("published_at").gte(since),
        }
        while True:
            resp = self.table.query(**kwargs)
            out.extend(_record(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
