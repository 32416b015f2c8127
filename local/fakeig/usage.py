"""Per-account call counting, usage headers and throttle errors.

https://developers.facebook.com/docs/graph-api/overview/rate-limiting"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING

from fakeig.http import (
    GraphError,
)

if TYPE_CHECKING:
    from fakeig.context import FakeState


THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. "
    "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


def throttle_error(code: int, message: str | None = None, http_status: int = 400) -> GraphError:
    return GraphError(
        code,
        message or THROTTLE_MESSAGES.get(code, f"(#{code}) Rate limit reached"),
        is_transient=code == 4,
        http_status=http_status,
    )


def window(app: FakeState, account: str) -> deque[float]:
    calls = app.store.usage.setdefault(account, deque())
    cutoff = app.now() - 3600
    while calls and calls[0] <= cutoff:
        calls.popleft()
    return calls


def count_call(app: FakeState, account: str) -> None:
    cfg = app.config
    calls = window(app, account)
    if len(calls) >= cfg.hourly_call_budget:
        raise throttle_error(cfg.throttle_code, http_status=cfg.throttle_http_status)
    calls.append(app.now())


def usage_headers(app: FakeState, account: str) -> dict[str, str]:
    cfg = app.config
    if not cfg.usage_headers:
        return {}
    budget = max(1, cfg.hourly_call_budget)
    calls = window(app, account)
    pct = min(100, len(calls) * 100 // budget)
    regain = 0
    if len(calls) >= budget:
        regain = max(1, int((calls[0] + 3600 - app.now()) // 60) + 1)
    active = [a for a in app.store.usage if window(app, a)]
    app_calls = sum(len(app.store.usage[a]) for a in active)
    app_pct = min(100, app_calls * 100 // (budget * max(1, len(active))))
    buc = {
        account: [
            {
                "type": "instagram",
                "call_count": pct,
                "total_cputime": pct // 2,
                "total_time": pct // 2,
                "estimated_time_to_regain_access": regain,
            }
        ]
    }
    return {
        "X-App-Usage": json.dumps({"call_count": app_pct, "total_time": app_pct // 2, "total_cputime": app_pct // 2}),
        "X-Business-Use-Case-Usage": json.dumps(buc),
    }
