"""The hashtags table: pools, the search budget, rotation memory and the Facebook Login connection.

One table, partition key ``pk`` = ``ACCOUNT#<instagram account id>``, sort key ``sk``:

* ``POOL#<pool>#TAG#<tag, casefolded>``: one item per hashtag of a pool. ``pool``, ``tag`` (as the user
  or discovery spelled it, without ``#``), ``score`` (number, higher is preferred), ``source``
  (``manual`` | ``discover``), ``hashtag_id`` (Instagram's, when discovered), ``top_posts`` and
  ``engagement`` (discovery's evidence), ``added_at`` / ``updated_at`` (epoch s).
* ``BUDGET``: the account's hashtag-search budget, ONE item: ``searches`` (map hashtag -> epoch of its
  first search in the current window) and ``version`` (number). See ``igpub.hashtags`` for the rules;
  this module only offers the read and the compare-and-set write they need.
* ``ROTATION#<pool>``: the hashtag sets of the last posts that used the pool, most recent first
  (``recent``: list of ``{"post": id, "tags": [...]}``) and ``version`` (compare-and-set).
* ``FACEBOOK``: the Facebook Login connection: ``token_ciphertext`` (KMS, encryption context
  ``{"account_id": <ig id>, "purpose": "facebook"}``), ``token_expires_at``, ``page_id``,
  ``page_name``, ``scopes``, ``connected_at``, ``updated_at``.

No TTL on this table: nothing here may vanish by itself, and the budget never depends on deletion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from igpub.repositories import aws

BUDGET_SK = "BUDGET"
FACEBOOK_SK = "FACEBOOK"

# The attributes of a pool's items: all that pool reads fetch (the template's people policies allow only these
# of this table, whose Facebook connection item holds a token).
POOL_ATTRIBUTES = ("pk", "sk", "pool", "tag", "score", "source", "hashtag_id", "engagement", "top_posts",
                   "added_at", "updated_at")


def _pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def _pool_prefix(pool: str) -> str:
    return f"POOL#{pool}#TAG#"


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, Decimal | int | float):
        return float(value)
    return default


def _dec(value: float) -> Decimal:
    return Decimal(str(round(value, 4)))


@dataclass(frozen=True)
class PoolTag:
    pool: str
    tag: str
    score: float
    source: str = "manual"
    hashtag_id: str | None = None
    engagement: float | None = None
    top_posts: int | None = None
    added_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True)
class BudgetState:
    searches: dict[str, int] = field(default_factory=dict)  # hashtag -> first search (epoch s)
    version: int = 0


@dataclass(frozen=True)
class RotationState:
    recent: list[dict[str, Any]] = field(default_factory=list)  # [{"post": id, "tags": [...]}], newest first
    version: int = 0


@dataclass(frozen=True)
class FacebookConnection:
    account_id: str
    token_ciphertext: bytes = field(repr=False)
    token_expires_at: int
    page_id: str
    page_name: str
    scopes: list[str]
    connected_at: int
    updated_at: int
    facebook_user_id: str = ""  # the app-scoped Facebook user id (Meta's callbacks name the person by it)


def _pool_tag(item: dict[str, Any]) -> PoolTag:
    return PoolTag(
        pool=str(item["pool"]),
        tag=str(item["tag"]),
        score=_num(item.get("score")),
        source=str(item.get("source", "manual")),
        hashtag_id=str(item["hashtag_id"]) if item.get("hashtag_id") else None,
        engagement=_num(item["engagement"]) if "engagement" in item else None,
        top_posts=int(_num(item["top_posts"])) if "top_posts" in item else None,
        added_at=int(_num(item.get("added_at"))),
        updated_at=int(_num(item.get("updated_at"))),
    )


class HashtagRepository(aws.TableRepository):
    def _query(self, account_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(account_id)) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
            **aws.project(POOL_ATTRIBUTES),  # pools only (never the Facebook connection's token)
        }
        while True:
            resp = self.table.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ------------------------------------------------------------------ pools

    def pool(self, account_id: str, pool: str) -> list[PoolTag]:
        return [_pool_tag(i) for i in self._query(account_id, _pool_prefix(pool))]

    def pools(self, account_id: str) -> dict[str, list[PoolTag]]:
        out: dict[str, list[PoolTag]] = {}
        for item in self._query(account_id, "POOL#"):
            tag = _pool_tag(item)
            out.setdefault(tag.pool, []).append(tag)
        return out

    def put_tag(
        self,
        account_id: str,
        pool: str,
        tag: str,
        *,
        score: float | None,
        default_score: float,
        source: str,
        now: int,
        hashtag_id: str | None = None,
        engagement: float | None = None,
        top_posts: int | None = None,
    ) -> None:
        """Add a tag to a pool or update it. ``score=None`` keeps an existing score (else ``default_score``)."""
        sets = [
            "#pool = :pool",
            "#tag = :tag",
            "updated_at = :now",
            "added_at = if_not_exists(added_at, :now)",
            "#source = :source",
            "score = :score" if score is not None else "score = if_not_exists(score, :score)",
        ]
        values: dict[str, Any] = {
            ":pool": pool,
            ":tag": tag,
            ":now": now,
            ":source": source,
            ":score": _dec(score if score is not None else default_score),
        }
        if hashtag_id is not None:
            sets.append("hashtag_id = :hid")
            values[":hid"] = hashtag_id
        if engagement is not None:
            sets.append("engagement = :eng")
            values[":eng"] = _dec(engagement)
        if top_posts is not None:
            sets.append("top_posts = :tp")
            values[":tp"] = top_posts
        self.table.update_item(
            Key={"pk": _pk(account_id), "sk": _pool_prefix(pool) + tag.casefold()},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={"#pool": "pool", "#source": "source", "#tag": "tag"},
            ExpressionAttributeValues=values,
        )

    def remove_tags(self, account_id: str, pool: str, tags: Iterable[str]) -> list[str]:
        """Delete tags from a pool; returns the ones that were there."""
        removed: list[str] = []
        for tag in tags:
            resp = self.table.delete_item(
                Key={"pk": _pk(account_id), "sk": _pool_prefix(pool) + tag.casefold()}, ReturnValues="ALL_OLD"
            )
            if resp.get("Attributes"):
                removed.append(tag)
        return removed

    # ------------------------------------------------------------------ compare-and-set items

    def _versioned_put(self, account_id: str, sk: str, values: dict[str, Any], expected_version: int) -> bool:
        """Write the item only if its version is still ``expected_version`` (0 = the item does not exist).

        Returns False when another writer got there first.
        """
        condition = "attribute_not_exists(#ver)" if expected_version == 0 else "#ver = :expected"
        names = {f"#a{i}": k for i, k in enumerate(values)}
        names["#ver"] = "version"
        sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(values)))
        attr_values: dict[str, Any] = {f":a{i}": v for i, v in enumerate(values.values())}
        attr_values[":next"] = expected_version + 1
        if expected_version:
            attr_values[":expected"] = expected_version
        try:
            self.table.update_item(
                Key={"pk": _pk(account_id), "sk": sk},
                UpdateExpression=f"SET {sets}, #ver = :next",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _get(self, account_id: str, sk: str) -> dict[str, Any]:
        resp = self.table.get_item(Key={"pk": _pk(account_id), "sk": sk}, ConsistentRead=True)
        return dict(resp.get("Item") or {})

    def budget(self, account_id: str) -> BudgetState:
        item = self._get(account_id, BUDGET_SK)
        raw = item.get("searches") or {}
        searches = {str(k): int(_num(v)) for k, v in raw.items()} if isinstance(raw, dict) else {}
        return BudgetState(searches=searches, version=int(_num(item.get("version"))))

    def write_budget(self, account_id: str, searches: dict[str, int], *, expected_version: int, now: int) -> bool:
        return self._versioned_put(
            account_id, BUDGET_SK, {"searches": dict(searches), "updated_at": now}, expected_version
        )

    def rotation(self, account_id: str, pool: str) -> RotationState:
        item = self._get(account_id, f"ROTATION#{pool}")
        recent = [
            {"post": str(r.get("post", "")), "tags": [str(t) for t in r.get("tags", [])]}
            for r in item.get("recent", [])
            if isinstance(r, dict)
        ]
        return RotationState(recent=recent, version=int(_num(item.get("version"))))

    def write_rotation(
        self, account_id: str, pool: str, recent: list[dict[str, Any]], *, expected_version: int, now: int
    ) -> bool:
        return self._versioned_put(
            account_id, f"ROTATION#{pool}", {"recent": recent, "updated_at": now}, expected_version
        )

    # ------------------------------------------------------------------ Facebook Login connection

    def save_facebook(self, conn: FacebookConnection) -> None:
        self.table.update_item(
            Key={"pk": _pk(conn.account_id), "sk": FACEBOOK_SK},
            UpdateExpression=(
                "SET token_ciphertext = :c, token_expires_at = :e, page_id = :p, page_name = :n, scopes = :s,"
                " updated_at = :now, connected_at = if_not_exists(connected_at, :now), facebook_user_id = :fb"
            ),
            ExpressionAttributeValues={
                ":c": conn.token_ciphertext,
                ":e": conn.token_expires_at,
                ":p": conn.page_id,
                ":n": conn.page_name,
                ":s": conn.scopes,
                ":now": conn.updated_at,
                ":fb": conn.facebook_user_id,
            },
        )

    def facebook(self, account_id: str) -> FacebookConnection | None:
        item = self._get(account_id, FACEBOOK_SK)
        if not item:
            return None
        blob = item.get("token_ciphertext", b"")
        return FacebookConnection(
            account_id=account_id,
            token_ciphertext=bytes(blob.value if hasattr(blob, "value") else blob),
            token_expires_at=int(_num(item.get("token_expires_at"))),
            page_id=str(item.get("page_id", "")),
            page_name=str(item.get("page_name", "")),
            scopes=[str(s) for s in item.get("scopes") or []],
            connected_at=int(_num(item.get("connected_at"))),
            updated_at=int(_num(item.get("updated_at"))),
            facebook_user_id=str(item.get("facebook_user_id", "")),
        )
