"""The `igpub` command line. Works against the local stack (`make up`) and a stack on AWS (--stack)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
import webbrowser
from pathlib import Path
from typing import Any

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import infer_media_type
from igpub_cli import api
from igpub_cli import engagement as engagement_cli
from igpub_cli import hashtags as hashtags_cli
from igpub_cli.deployment import Deployment, DeploymentNotFound


def _deployment(args: argparse.Namespace) -> Deployment:
    return Deployment.load(stack=args.stack, region=args.region)


def cmd_connect(args: argparse.Namespace) -> int:
    dep = _deployment(args)
    if args.facebook:  # Facebook Login: only for hashtag discovery
        url = dep.output("FacebookConnectUrl")
        print(url)
        print(f"Register this redirect URI in your Meta app: {dep.output('FacebookRedirectUri')}", file=sys.stderr)
    else:
        features = [f.strip() for f in (args.with_ or "").split(",") if f.strip()]
        try:
            url = engagement_cli.connect_url(dep, features)
        except ValueError as exc:
            print(f"igpub: {exc}", file=sys.stderr)
            return 2
        print(url)
        print(f"Register this redirect URI in your Instagram app: {dep.output('OAuthRedirectUri')}", file=sys.stderr)
    if args.open:
        webbrowser.open(url)
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    dep = _deployment(args)
    now = time.time()
    accounts = api.list_accounts(dep)
    if args.json:
        print(
            json.dumps(
                [{**a.model_dump(mode="json"), "days_until_expiry": a.days_left(now)} for a in accounts], indent=2
            )
        )
        return 0
    if not accounts:
        print("No accounts connected yet. Run `igpub connect` and open the URL.")
        return 0
    print(f"{'USERNAME':<24} {'ACCOUNT ID':<20} {'STATUS':<13} {'EXPIRES IN':>10}")
    for a in accounts:
        note = f"  ({a.reauth_reason})" if a.reauth_reason else ""
        print(f"@{a.username:<23} {a.account_id:<20} {a.status:<13} {a.days_left(now):>8.1f} d{note}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    dep = _deployment(args)
    report = api.refresh_tokens(dep, args.account, ignore_min_age=args.ignore_min_age)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"refreshed {report['refreshed']}, need re-authorisation {report['needs_reauth']}, "
          f"transient failures {report['transient_failures']}, failed {report['failed']}, "
          f"too young {report['skipped_young']}, raced {report['raced']} ({report['items_read']} read)")
    if report.get("stopped_early"):
        more = " and more" if report.get("more_pending") else ""
        print(f"stopped before the time limit: {report['left']}{more} left for the next run")
    for d in report.get("details", []):
        when = ""
        if d.get("token_expires_at"):
            when = f" (expires {time.strftime('%Y-%m-%d', time.gmtime(d['token_expires_at']))})"
        print(f"  {d['account_id']:<20} {d['outcome']:<14} {d.get('reason') or ''}{when}")
    problems = report["needs_reauth"] + report["transient_failures"] + report["failed"]
    return 1 if problems else 0


def _media_args(args: argparse.Namespace, dep: Deployment, post_id: str) -> list[dict[str, Any]]:
    media: list[dict[str, Any]] = []
    for url in args.url or []:
        item: dict[str, Any] = {"url": url}
        if infer_media_type(url) is None:
            item["type"] = "video" if args.kind == "reel" else "image"
        media.append(item)
    for path in args.file or []:
        key = api.upload_media(dep, Path(path), prefix=f"uploads/{post_id}")
        print(f"uploaded {path} -> s3://{dep.output('MediaBucketName')}/{key}", file=sys.stderr)
        media.append({"key": key})
    return media


def build_request(args: argparse.Namespace, dep: Deployment) -> dict[str, Any]:
    if args.request:
        data: dict[str, Any] = json.loads(Path(args.request).read_text())
        return data
    post_id = args.client_post_id or uuid.uuid4().hex
    data = {
        "account_id": args.account or _only_account(dep),
        "kind": args.kind,
        "media": _media_args(args, dep, post_id),
        "caption": args.caption or "",
        "client_post_id": post_id,
    }
    if args.alt_text:
        data["media"][0]["alt_text"] = args.alt_text
    for key in ("location_id", "publish_at", "cover_url", "hashtag_pool", "hashtag_count"):
        if getattr(args, key, None) is not None:
            data[key] = getattr(args, key)
    if args.collaborator:
        data["collaborators"] = args.collaborator
    if args.share_to_feed:
        data["share_to_feed"] = True
    return data


def _only_account(dep: Deployment) -> str:
    return api.only_active_account(dep)


def cmd_post(args: argparse.Namespace) -> int:
    dep = _deployment(args)
    try:
        request = build_request(args, dep)
        sub = api.submit_post(dep, request)
    except RequestInvalid as exc:
        print("The post was not submitted:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(f"post {sub.post_id} started ({sub.execution_arn})")
    if args.no_wait:
        return 0
    rec = api.watch_post(dep, sub, on_progress=print)
    if rec.status == "published":
        print(f"published: media {rec.media_id}")
        print(f"permalink: {rec.permalink or '(not available yet)'}")
        return 0
    print(f"FAILED: {rec.failure_reason}", file=sys.stderr)
    return 1


def cmd_posts(args: argparse.Namespace) -> int:
    dep = _deployment(args)
    posts = api.list_posts(dep, account_id=args.account, limit=args.limit)
    if args.json:
        print(json.dumps([p.model_dump(mode="json") for p in posts], indent=2))
        return 0
    for p in posts:
        detail = p.permalink or p.failure_reason or ""
        print(f"{p.created_at[:19]}  {p.post_id[:32]:<32} {p.kind:<8} {p.status:<10} {detail}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="igpub", description="Self-hosted Instagram publishing")
    p.add_argument("--stack", help="CloudFormation stack name on AWS (default: the local stack if running)")
    p.add_argument("--region")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("connect", help="print the URL that connects an Instagram professional account")
    c.add_argument("--open", action="store_true", help="open it in a browser")
    c.add_argument("--facebook", action="store_true", help="connect Facebook Login instead (hashtag discovery)")
    c.add_argument("--with", dest="with_", metavar="FEATURES",
                   help="also ask for the permissions of comments,insights,webhooks (webhooks: enable them)")
    c.set_defaults(func=cmd_connect)

    a = sub.add_parser("accounts", help="list connected accounts")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_accounts)

    r = sub.add_parser("refresh", help="refresh the tokens that are due now, or one account's token")
    r.add_argument("account", nargs="?", help="account id: refresh this one now, due or not")
    r.add_argument("--ignore-min-age", action="store_true",
                   help="with ACCOUNT: try even if the token is younger than 24 h (Instagram may refuse)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_refresh)

    po = sub.add_parser("post", help="publish a post and follow it until it is published or failed")
    po.add_argument("--account", help="account id (default: the only connected account)")
    po.add_argument("--kind", choices=["image", "carousel", "reel", "story"], default="image")
    po.add_argument("--url", action="append", help="public media URL (repeat for a carousel)")
    po.add_argument("--file", action="append", help="local file to upload to the media bucket (repeatable)")
    po.add_argument("--caption")
    po.add_argument("--alt-text")
    po.add_argument("--location-id")
    po.add_argument("--collaborator", action="append")
    po.add_argument("--cover-url")
    po.add_argument("--share-to-feed", action="store_true")
    po.add_argument("--publish-at", help="ISO 8601 with a time zone, e.g. 2026-12-01T09:00:00+01:00")
    po.add_argument("--client-post-id", help="your id for the post; submitting it twice publishes once")
    po.add_argument("--hashtag-pool")
    po.add_argument("--hashtag-count", type=int)
    po.add_argument("--request", help="a JSON file with the whole post request instead of the options")
    po.add_argument("--no-wait", action="store_true")
    po.set_defaults(func=cmd_post)

    ps = sub.add_parser("posts", help="recent posts with their status")
    ps.add_argument("--account")
    ps.add_argument("--limit", type=int, default=20)
    ps.add_argument("--json", action="store_true")
    ps.set_defaults(func=cmd_posts)

    hashtags_cli.register(sub)
    engagement_cli.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except DeploymentNotFound as exc:
        print(f"igpub: {exc}", file=sys.stderr)
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
