"""Reading CloudWatch Logs in the e2e tests, whole: AWS pages with ``nextToken``; the emulator answers at most
10,000 events per call and no token, so the reading goes on from the newest timestamp seen until a page comes
back short (events are told apart by id, time, stream and message)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

PAGE = 10_000


def _key(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event.get("eventId"), event.get("timestamp"), event.get("logStreamName"), event.get("message"))


def log_events(logs: Any, group: str, *, since_ms: int = 0) -> Iterator[dict[str, Any]]:
    """Every event of ``group`` from ``since_ms`` on, each once."""
    start, seen = since_ms, set[tuple[Any, ...]]()
    kwargs: dict[str, Any] = {"logGroupName": group, "limit": PAGE}
    while True:
        page = logs.filter_log_events(startTime=start, **kwargs)
        events = page["events"]
        new = [e for e in events if _key(e) not in seen]
        yield from new
        seen.update(_key(e) for e in new)
        if page.get("nextToken"):
            kwargs["nextToken"] = page["nextToken"]
            continue
        if len(events) < PAGE or not new:
            return
        start = max(e["timestamp"] for e in events)
