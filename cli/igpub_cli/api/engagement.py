"""`igpub comments ...` and `igpub insights ...`: through the deployed EngagementFunction (it holds the
account's token and tracks Instagram usage like publishing does).

Also usable from programs (re-exported by ``igpub_cli.api``)::

    list_comments(dep, post_id="...")          reply_comment(dep, account_id, comment_id, "Thanks!")
    hide_comment(dep, account_id, comment_id)  unhide_comment(...)  delete_comment(...)
    set_comments_enabled(dep, False, post_id="...")
    post_insights(dep, post_id, refresh=True)  account_insights(dep, account_id)
    collect_due_insights(dep)
"""

from __future__ import annotations

import json
import time
from typing import Any

from igpub.engage.actions import text_problems
from igpub_cli.api.deps import posts_repo
from igpub_cli.deployment import Deployment

CONNECT_FEATURES = ("comments", "insights", "webhooks")


class EngagementError(Exception):
    """The EngagementFunction answered with an error outcome. ``kind``: invalid, not_found, not_published,
    not_connected, instagram (then ``code``, ``subcode``, ``error_class`` and ``advice`` say more), function."""

    def __init__(self, kind: str, message: str, *, code: int | None = None, subcode: int | None = None,
                 error_class: str | None = None, advice: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.subcode = subcode
        self.error_class = error_class
        self.advice = advice

    @property
    def permission_denied(self) -> bool:
        """Instagram refused for a missing permission (code 10 or 200-299): the account must be connected
        again granting it."""
        return self.error_class == "PermissionDeniedError" or self.code == 10 or (
            self.code is not None and 200 <= self.code < 300)

    @property
    def bad_parameter(self) -> bool:
        """Instagram refused an id or a parameter of the request (code 100): the input was wrong."""
        return self.code == 100


def invoke(dep: Deployment, payload: dict[str, Any]) -> dict[str, Any]:
    from botocore.config import Config

    client = dep.client("lambda", config=Config(read_timeout=330, retries={"max_attempts": 1}))
    resp = client.invoke(FunctionName=dep.output("EngagementFunctionName"), Payload=json.dumps(payload).encode())
    body: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise EngagementError("function", f"the engagement function failed: {body.get('errorMessage') or body}")
    if body.get("status") != "ok":
        raise EngagementError(str(body.get("error")), str(body.get("message") or body), code=body.get("code"),
                              subcode=body.get("subcode"), error_class=body.get("error_class"),
                              advice=body.get("advice"))
    return body


def _target(post_id: str | None, account_id: str | None, media_id: str | None) -> dict[str, Any]:
    return {k: v for k, v in {"post_id": post_id, "account_id": account_id, "media_id": media_id}.items() if v}


def list_comments(dep: Deployment, *, post_id: str | None = None, account_id: str | None = None,
                  media_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Top-level comments (newest first) with their replies; every page followed up to ``limit``."""
    body = invoke(dep, {"action": "comments", "limit": limit, **_target(post_id, account_id, media_id)})
    comments: list[dict[str, Any]] = body["comments"]
    return comments


def _check_text(message: str, what: str) -> None:
    problems = text_problems(message, what)
    if problems:
        raise EngagementError("invalid", "; ".join(problems))


def comment_on(dep: Deployment, message: str, *, post_id: str | None = None, account_id: str | None = None,
               media_id: str | None = None) -> str:
    _check_text(message, "the comment")
    return str(invoke(dep, {"action": "comment", "message": message,
                            **_target(post_id, account_id, media_id)})["comment_id"])


def reply_comment(dep: Deployment, account_id: str, comment_id: str, message: str) -> str:
    """Reply to a comment; ``EngagementError`` (kind ``invalid``) before any call when the text breaks Instagram's
    rules (``text_problems``)."""
    _check_text(message, "the reply")
    body = invoke(dep, {"action": "reply", "account_id": account_id, "comment_id": comment_id, "message": message})
    return str(body["comment_id"])


def hide_comment(dep: Deployment, account_id: str, comment_id: str) -> bool | None:
    body = invoke(dep, {"action": "hide", "account_id": account_id, "comment_id": comment_id})
    return body.get("hidden")


def unhide_comment(dep: Deployment, account_id: str, comment_id: str) -> bool | None:
    body = invoke(dep, {"action": "unhide", "account_id": account_id, "comment_id": comment_id})
    return body.get("hidden")


def delete_comment(dep: Deployment, account_id: str, comment_id: str) -> None:
    invoke(dep, {"action": "delete_comment", "account_id": account_id, "comment_id": comment_id})


def set_comments_enabled(dep: Deployment, enabled: bool, *, post_id: str | None = None,
                         account_id: str | None = None, media_id: str | None = None) -> None:
    invoke(dep, {"action": "comment_enabled", "enabled": enabled, **_target(post_id, account_id, media_id)})


def post_insights(dep: Deployment, post_id: str, *, refresh: bool = False) -> dict[str, Any]:
    """The insights stored on a post (one entry per collection: 1h, 24h, 7d, latest); ``refresh`` asks
    Instagram now and stores the answer as ``latest`` (through the engagement function, which holds the
    token); without it, the stored insights are read from the post record (a viewer's policy suffices)."""
    if refresh:
        return invoke(dep, {"action": "post_insights", "post_id": post_id, "refresh": True})
    rec = posts_repo(dep).get(post_id)
    if rec is None:
        raise EngagementError("not_found", f"no post {post_id}")
    data = rec.model_dump(mode="json")  # JSON values, as the function would answer
    return {"status": "ok", "post_id": data["post_id"], "kind": data["kind"], "media_id": data["media_id"],
            "published_at": data["published_at"], "insights": data["insights"],
            "next_collection_at": data["insights_due_at"]}


def account_insights(dep: Deployment, account_id: str, *, metrics: list[str] | None = None,
                     since: int | None = None, until: int | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": "account_insights", "account_id": account_id, "metrics": metrics or []}
    if since is not None:
        payload["since"] = since
    if until is not None:
        payload["until"] = until
    return invoke(dep, payload)


def collect_due_insights(dep: Deployment) -> dict[str, Any]:
    """Run the scheduled insights collection now (what the EventBridge schedule does)."""
    return invoke(dep, {"action": "collect_due"})


def with_features(url: str, features: list[str]) -> str:
    """The connect (invite) link asking also for the scopes of ``features`` (comments, insights, webhooks)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    unknown = [f for f in features if f not in CONNECT_FEATURES]
    if unknown:
        raise ValueError(f"unknown --with value(s): {', '.join(unknown)} (known: {', '.join(CONNECT_FEATURES)})")
    if not features:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | {"with": ",".join(features)}
    return urlunsplit(parts._replace(query=urlencode(query)))


# ------------------------------------------------------------------------------------------ rendering
# (rows for the CLI's tables: igpub_cli/commands/engagement.py)

STAGE_ORDER = ("1h", "23h", "24h", "7d", "latest")


def when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch)) if epoch else "-"


def insights_rows(body: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    """A post's insights as (columns, rows, notes): one row per metric, one column per collection."""
    stored: dict[str, Any] = body.get("insights") or {}
    stages = [s for s in STAGE_ORDER if s in stored] + sorted(s for s in stored if s not in STAGE_ORDER)
    names: list[str] = []
    for stage in stages:
        for name in stored[stage].get("metrics") or {}:
            if name not in names:
                names.append(name)
    rows = [[name, *(fmt((stored[s].get("metrics") or {}).get(name)) for s in stages)] for name in names]
    if stages:
        rows.append(["collected", *(time.strftime("%m-%d %H:%M", time.gmtime(stored[s].get("collected_at", 0)))
                                    for s in stages)])
    notes = [f"{s}: {stored[s]['error']}" for s in stages if stored[s].get("error")]
    if body.get("next_collection_at"):
        notes.append("next collection: " + when(body["next_collection_at"]))
    elif not stages:
        notes.append("no insights collected yet")
    return ["METRIC", *(f">{s}" for s in stages)], rows, notes


def account_insights_rows(body: dict[str, Any]) -> list[list[str]]:
    return [[name, fmt(value)] for name, value in (body.get("metrics") or {}).items()]


def comment_rows(comments: list[dict[str, Any]]) -> list[list[str]]:
    rows: list[list[str]] = []

    def row(c: dict[str, Any], indent: str) -> None:
        who = ("(you) " if c.get("own") else "") + "@" + str(c.get("username") or "?")
        rows.append([indent + c["id"], (c.get("timestamp") or "")[:16].replace("T", " "), who,
                     str(c.get("text", "")), "hidden" if c.get("hidden") else ""])

    for c in comments:
        row(c, "")
        for r in c.get("replies") or []:
            row(r, "  ")
    return rows


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
