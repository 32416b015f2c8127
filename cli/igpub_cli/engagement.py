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

import argparse
import json
import sys
import time
from typing import Any

from igpub_cli import api
from igpub_cli.deployment import Deployment

CONNECT_FEATURES = ("comments", "insights", "webhooks")


class EngagementError(Exception):
    """The EngagementFunction answered with an error outcome."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def invoke(dep: Deployment, payload: dict[str, Any]) -> dict[str, Any]:
    from botocore.config import Config

    client = dep.client("lambda", config=Config(read_timeout=330, retries={"max_attempts": 1}))
    resp = client.invoke(FunctionName=dep.output("EngagementFunctionName"), Payload=json.dumps(payload).encode())
    body: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise EngagementError("function", f"the engagement function failed: {body.get('errorMessage') or body}")
    if body.get("status") != "ok":
        raise EngagementError(str(body.get("error")), str(body.get("message") or body))
    return body


def _target(post_id: str | None, account_id: str | None, media_id: str | None) -> dict[str, Any]:
    return {k: v for k, v in {"post_id": post_id, "account_id": account_id, "media_id": media_id}.items() if v}


def list_comments(dep: Deployment, *, post_id: str | None = None, account_id: str | None = None,
                  media_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Top-level comments (newest first) with their replies; every page followed up to ``limit``."""
    body = invoke(dep, {"action": "comments", "limit": limit, **_target(post_id, account_id, media_id)})
    comments: list[dict[str, Any]] = body["comments"]
    return comments


def comment_on(dep: Deployment, message: str, *, post_id: str | None = None, account_id: str | None = None,
               media_id: str | None = None) -> str:
    return str(invoke(dep, {"action": "comment", "message": message,
                            **_target(post_id, account_id, media_id)})["comment_id"])


def reply_comment(dep: Deployment, account_id: str, comment_id: str, message: str) -> str:
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
    Instagram now and stores the answer as ``latest``."""
    return invoke(dep, {"action": "post_insights", "post_id": post_id, "refresh": refresh})


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


def connect_url(dep: Deployment, features: list[str]) -> str:
    """The connect URL asking for the scopes of ``features`` (comments, insights, webhooks)."""
    from urllib.parse import urlencode

    unknown = [f for f in features if f not in CONNECT_FEATURES]
    if unknown:
        raise ValueError(f"unknown --with value(s): {', '.join(unknown)} (known: {', '.join(CONNECT_FEATURES)})")
    url = dep.output("ConnectUrl")
    return f"{url}?{urlencode({'with': ','.join(features)})}" if features else url


# ------------------------------------------------------------------------------------------ rendering


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch)) if epoch else "-"


def insights_table(body: dict[str, Any]) -> str:
    """A post's insights: one row per metric, one column per collection."""
    stored: dict[str, Any] = body.get("insights") or {}
    order = [s for s in ("1h", "23h", "24h", "7d", "latest") if s in stored] + sorted(
        s for s in stored if s not in ("1h", "23h", "24h", "7d", "latest"))
    lines = [f"post {body.get('post_id')} ({body.get('kind')}, media {body.get('media_id') or '-'}), "
             f"published {_when(body.get('published_at'))}"]
    if not order:
        lines.append("no insights collected yet; next collection: " + _when(body.get("next_collection_at")))
        return "\n".join(lines)
    names: list[str] = []
    for stage in order:
        for name in (stored[stage].get("metrics") or {}):
            if name not in names:
                names.append(name)
    lines.append(f"{'METRIC':<32}" + "".join(f"{s:>12}" for s in order))
    for name in names:
        cells = "".join(f"{_fmt((stored[s].get('metrics') or {}).get(name)):>12}" for s in order)
        lines.append(f"{name:<32}{cells}")
    lines.append(f"{'collected':<32}" + "".join(
        f"{time.strftime('%m-%d %H:%M', time.gmtime(stored[s].get('collected_at', 0))):>12}" for s in order))
    for s in order:
        if stored[s].get("error"):
            lines.append(f"  {s}: {stored[s]['error']}")
    if body.get("next_collection_at"):
        lines.append("next collection: " + _when(body["next_collection_at"]))
    return "\n".join(lines)


def account_insights_table(body: dict[str, Any]) -> str:
    lines = [f"account {body.get('account_id')} (last 24 h unless --since/--until)", f"{'METRIC':<32}{'VALUE':>12}"]
    for name, value in (body.get("metrics") or {}).items():
        lines.append(f"{name:<32}{_fmt(value):>12}")
    return "\n".join(lines)


def comments_table(comments: list[dict[str, Any]]) -> str:
    if not comments:
        return "no comments"
    lines = [f"{'COMMENT ID':<20} {'WHEN':<17} {'FROM':<20} TEXT"]

    def row(c: dict[str, Any], indent: str) -> None:
        who = ("(you) " if c.get("own") else "") + "@" + str(c.get("username") or "?")
        flag = " [hidden]" if c.get("hidden") else ""
        when = (c.get("timestamp") or "")[:16].replace("T", " ")
        lines.append(f"{indent}{c['id']:<{20 - len(indent)}} {when:<17} {who:<20} {c.get('text', '')}{flag}")

    for c in comments:
        row(c, "")
        for r in c.get("replies") or []:
            row(r, "  ")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


# ------------------------------------------------------------------------------------------ commands
# argparse glue for the current CLI (main.py calls register()); the logic is in the functions above.


def _dep(args: argparse.Namespace) -> Deployment:
    return Deployment.load(stack=args.stack, region=args.region)


def _account(args: argparse.Namespace, dep: Deployment) -> str:
    return str(args.account) if getattr(args, "account", None) else api.only_active_account(dep)


def cmd_insights(args: argparse.Namespace) -> int:
    dep = _dep(args)
    if args.post is None and args.account_insights is None:
        print("igpub: name a POST, or --account ID for account insights", file=sys.stderr)
        return 2
    if args.post is not None:
        body = post_insights(dep, args.post, refresh=args.refresh)
        print(json.dumps(body, indent=2) if args.json else insights_table(body))
        return 0
    account_id = args.account_insights or api.only_active_account(dep)
    body = account_insights(dep, account_id, metrics=args.metric, since=args.since, until=args.until)
    print(json.dumps(body, indent=2) if args.json else account_insights_table(body))
    return 0


def cmd_comments(args: argparse.Namespace) -> int:
    dep = _dep(args)
    action = args.comments_command
    if action == "list":
        found = list_comments(dep, post_id=args.post, limit=args.limit)
        print(json.dumps(found, indent=2) if args.json else comments_table(found))
        return 0
    if action in ("on", "off"):
        set_comments_enabled(dep, action == "on", post_id=args.post)
        print(f"comments turned {action} on post {args.post}")
        return 0
    account_id = _account(args, dep)
    if action == "reply":
        new_id = reply_comment(dep, account_id, args.comment_id, args.message)
        print(json.dumps({"comment_id": new_id}) if args.json else f"replied: {new_id}")
    elif action in ("hide", "unhide"):
        hidden = (hide_comment if action == "hide" else unhide_comment)(dep, account_id, args.comment_id)
        note = " (a comment the account wrote stays visible)" if action == "hide" and hidden is False else ""
        print(json.dumps({"hidden": hidden}) if args.json else f"{args.comment_id}: hidden={hidden}{note}")
    else:
        delete_comment(dep, account_id, args.comment_id)
        print(json.dumps({"deleted": args.comment_id}) if args.json else f"deleted {args.comment_id}")
    return 0


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = func(args)
        except EngagementError as exc:
            print(f"igpub: {exc}", file=sys.stderr)
            return 2 if exc.kind in ("invalid", "not_found", "not_published") else 1
        return code

    return run


def register(sub: Any) -> None:
    """Add `igpub insights` and `igpub comments ...` to the main parser's subcommands."""
    i = sub.add_parser("insights", help="a post's insights (collected 1 h, 24 h and 7 days after publishing), "
                                        "or an account's (--account ID)")
    i.add_argument("post", nargs="?", help="post id")
    i.add_argument("--account", dest="account_insights", metavar="ID", nargs="?", const="",
                   help="account insights of this account (default: the only connected account)")
    i.add_argument("--refresh", action="store_true", help="with POST: ask Instagram now (stored as 'latest')")
    i.add_argument("--metric", action="append", help="account metric (repeatable; default: a useful set)")
    i.add_argument("--since", type=int, help="unix seconds (account insights; at most 30 days before --until)")
    i.add_argument("--until", type=int)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_guard(cmd_insights))

    c = sub.add_parser("comments", help="read, reply to, hide and delete comments on your posts")
    cs = c.add_subparsers(dest="comments_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--account", help="account id (default: the only connected account)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=_guard(cmd_comments))
        return p

    ls = common(cs.add_parser("list", help="comments on a post, newest first, with replies"))
    ls.add_argument("post", help="post id")
    ls.add_argument("--limit", type=int, default=200)
    r = common(cs.add_parser("reply", help="reply to a comment"))
    r.add_argument("comment_id")
    r.add_argument("message")
    for name, text in (("hide", "hide a comment"), ("unhide", "show a hidden comment again"),
                       ("delete", "delete a comment")):
        common(cs.add_parser(name, help=text)).add_argument("comment_id")
    for name, text in (("on", "turn comments on for a post"), ("off", "turn comments off for a post")):
        common(cs.add_parser(name, help=text)).add_argument("post", help="post id")
