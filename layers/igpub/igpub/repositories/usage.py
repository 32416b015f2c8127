"""DynamoDB state of the Instagram usage guard: one item per account, shared by every Lambda.

Item design (table ``Settings.usage_table``, partition key ``pk`` only)::

    pk             "usage#<account_id>"
    lm             N  minute index (epoch_s // 60) of the latest counted call
    w0 .. w119     N  ring of rolling-window counters: w[k % 120] = calls made in minutes [k, k+59], kept only
                      for the 60 windows k in [lm-59, lm] (the other 60 ring slots are absent)
    blocked_until  N  epoch s; no call before it (reported usage reached the threshold / Meta throttled us)
    pct, pct_at    N  the usage percentage that set the block, and when
    expires_at     N  TTL (epoch s), housekeeping only: correctness never depends on it

The rolling hour, exactly at one-minute granularity, with ONE conditional UpdateItem per call:
a call in minute M belongs to the 60 windows that start in [M-59, M]. The update ADDs 1 to those 60 counters,
REMOVEs the other 60 ring slots (windows that no longer matter) and sets ``lm = M``, on condition that

    not blocked  AND  M-60 <= lm <= M  AND  w[(M-59) % 120] < budget

``w[(M-59) % 120]`` is exactly the number of calls in minutes [M-59, M], so the budget check is a single
attribute comparison (DynamoDB conditions cannot add attributes together). ``lm >= M-60`` guarantees the
ring holds no stale counters (every slot the update touches is either a live window or was removed by the
previous call); after an idle hour the first call instead takes the "reset" update (SET the 60 windows to 1,
REMOVE the rest, on condition ``lm < M-60``). When a condition fails, DynamoDB hands back the old item
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) and we decide from it: refuse (blocked / over budget, with
the exact time a slot frees), reset, or retry with a later minute when another Lambda's clock is ahead.
There is never a read before the write, so concurrent Lambdas cannot both squeeze in the 200th call.

Approximation: calls are bucketed by wall-clock minute, so "the last hour" means "this minute and the 59
before it" (a call can be refused up to 59 s earlier than with exact timestamps, never later). Clocks of
different Lambdas are assumed to agree within a minute.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from igpub.instagram.usage import Decision

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoUsageStore"]

_WINDOWS = 60  # minutes per rolling hour
_RING = 2 * _WINDOWS
_ITEM_TTL_S = 2 * 24 * 3600
_MAX_ATTEMPTS = 4


def _slot(window_start: int) -> str:
    return f"w{window_start % _RING}"


def _num(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, dict) and "N" in value:
        return math.floor(float(value["N"]))
    return None


class DynamoUsageStore:
    """``igpub.instagram.usage.UsageStore`` on DynamoDB (low-level client, so it also works in ministack)."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        if client is None:  # created on demand, never at import time (default botocore settings)
            from igpub.repositories import aws

            client = aws.session().client("dynamodb")
        self._client = client
        self.table_name = table_name

    @staticmethod
    def key(account_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"usage#{account_id}"}}

    # ------------------------------------------------------------------ acquire

    def acquire(self, account_id: str, *, now: float, budget: int) -> Decision:
        if budget <= 0:
            return Decision(False, "budget", 3600.0)
        minute = int(now // 60)
        for _ in range(_MAX_ATTEMPTS):
            old = self._count(account_id, now=now, minute=minute, budget=budget)
            if old is None:
                return Decision(True)
            blocked_until = _num(old, "blocked_until") or 0
            if blocked_until > now:
                return Decision(False, "usage", blocked_until - now)
            last = _num(old, "lm")
            if last is None or last < minute - _WINDOWS:
                old = self._reset(account_id, now=now, minute=minute)
                if old is None:
                    return Decision(True)
                continue  # somebody else reset or counted first: go round with what they wrote
            if last > minute:  # another Lambda's clock is ahead: count in its minute
                minute = last
                continue
            in_window = _num(old, _slot(minute - _WINDOWS + 1)) or 0
            if in_window >= budget:
                return Decision(False, "budget", self._frees_in(old, now=now, minute=minute, budget=budget))
        # Persistent contention: refuse briefly rather than risk exceeding the budget.
        return Decision(False, "budget", 1.0)

    def _frees_in(self, old: dict[str, Any], *, now: float, minute: int, budget: int) -> float:
        """Seconds until the rolling window drops under the budget (window counters only shrink)."""
        for j in range(1, _WINDOWS + 1):
            start = minute - _WINDOWS + 1 + j
            count = (_num(old, _slot(start)) or 0) if start <= minute else 0
            if count < budget:
                return max(1.0, (minute + j) * 60 - now)
        return 60.0

    def _common_values(self, now: float) -> dict[str, Any]:
        return {
            ":now": {"N": _n(now)},
            ":exp": {"N": str(int(now) + _ITEM_TTL_S)},
        }

    def _count(self, account_id: str, *, now: float, minute: int, budget: int) -> dict[str, Any] | None:
        """The normal update. None when counted, else the item as it was (the condition failed)."""
        live = [minute - k for k in range(_WINDOWS)]  # window starts containing this minute
        stale = [minute - _WINDOWS - k for k in range(_WINDOWS)]
        update = (
            "SET lm = :m, expires_at = :exp "
            f"ADD {', '.join(f'{_slot(s)} :one' for s in live)} "
            f"REMOVE {', '.join(_slot(s) for s in stale)}"
        )
        current = _slot(minute - _WINDOWS + 1)
        condition = (
            "(attribute_not_exists(blocked_until) OR blocked_until <= :now) "
            "AND lm >= :oldest AND lm <= :m "
            f"AND (attribute_not_exists({current}) OR {current} < :budget)"
        )
        values = {
            **self._common_values(now),
            ":m": {"N": str(minute)},
            ":oldest": {"N": str(minute - _WINDOWS)},
            ":one": {"N": "1"},
            ":budget": {"N": str(budget)},
        }
        return self._conditional_update(account_id, update, condition, values)

    def _reset(self, account_id: str, *, now: float, minute: int) -> dict[str, Any] | None:
        """After an idle hour (or on a new item): start the ring afresh with this call."""
        live = [minute - k for k in range(_WINDOWS)]
        stale = [minute - _WINDOWS - k for k in range(_WINDOWS)]
        update = (
            "SET lm = :m, expires_at = :exp, "
            f"{', '.join(f'{_slot(s)} = :one' for s in live)} "
            f"REMOVE {', '.join(_slot(s) for s in stale)}"
        )
        condition = (
            "(attribute_not_exists(blocked_until) OR blocked_until <= :now) "
            "AND (attribute_not_exists(lm) OR lm < :oldest)"
        )
        values = {
            **self._common_values(now),
            ":m": {"N": str(minute)},
            ":oldest": {"N": str(minute - _WINDOWS)},
            ":one": {"N": "1"},
        }
        return self._conditional_update(account_id, update, condition, values)

    def _conditional_update(
        self, account_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        client = self._client
        try:
            client.update_item(
                TableName=self.table_name,
                Key=self.key(account_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            item: Any = exc.response.get("Item")
            if item is None:  # emulators may not return it; a consistent read is then equivalent
                got = client.get_item(TableName=self.table_name, Key=self.key(account_id), ConsistentRead=True)
                item = got.get("Item")
            return dict(item) if isinstance(item, dict) else {}
        return None

    # ------------------------------------------------------------------ block

    def block(self, account_id: str, *, now: float, until: float, pct: float) -> None:
        client = self._client
        try:
            client.update_item(
                TableName=self.table_name,
                Key=self.key(account_id),
                UpdateExpression="SET blocked_until = :until, pct = :pct, pct_at = :now, expires_at = :exp",
                ConditionExpression="attribute_not_exists(blocked_until) OR blocked_until < :until",
                ExpressionAttributeValues={
                    ":until": {"N": _n(until)},
                    ":pct": {"N": _n(pct)},
                    ":now": {"N": _n(now)},
                    ":exp": {"N": str(int(max(now, until)) + _ITEM_TTL_S)},
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            return  # a longer block is already in place

    # ------------------------------------------------------------------ inspection (tests, tools)

    def calls_in_window(self, account_id: str, now: float) -> int:
        got = self._client.get_item(TableName=self.table_name, Key=self.key(account_id), ConsistentRead=True)
        item = dict(got.get("Item") or {})
        last = _num(item, "lm")
        minute = int(now // 60)
        if last is None or last < minute - _WINDOWS + 1 or last > minute:
            return 0
        return _num(item, _slot(minute - _WINDOWS + 1)) or 0


def _n(value: float) -> str:
    """A DynamoDB number string, 3 decimals at most."""
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"
