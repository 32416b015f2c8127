"""Refresh tokens now (the schedule does it daily)."""

from __future__ import annotations

import json
from typing import Any

from igpub_cli.deployment import Deployment


def refresh_tokens(
    dep: Deployment, account_id: str | None = None, *, ignore_min_age: bool = False,
) -> dict[str, Any]:
    """Run the deployed refresher now and return its report: every due token, or one account (due or not).

    A run lasts at most the function's timeout (15 min), so the call waits that long at most.
    """
    from botocore.config import Config

    payload: dict[str, Any] = {}
    if account_id:
        payload = {"account_id": account_id, "ignore_min_age": ignore_min_age}
    config = Config(read_timeout=930, connect_timeout=10, retries={"max_attempts": 1})
    client = dep.client("lambda", config=config)
    resp = client.invoke(FunctionName=dep.output("RefresherFunctionName"), InvocationType="RequestResponse",
                         Payload=json.dumps(payload).encode())
    body = json.loads(resp["Payload"].read() or b"null")
    if resp.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        raise RuntimeError(f"the refresher failed: {message}")
    result: dict[str, Any] = body
    return result
