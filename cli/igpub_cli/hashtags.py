"""`igpub hashtags ...`: pools by hand (add/remove/list, straight to DynamoDB), and discovery and the
search budget through the deployed HashtagsFunction (it holds the Facebook token and enforces the budget).

Also usable from programs: ``discover(dep, account_id, seeds)``, ``budget(dep, account_id)``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from igpub.hashtags import DEFAULT_POOL, MANUAL_SCORE, InvalidInput, normalise_pool, normalise_tag
from igpub.repositories.hashtags import HashtagRepository
from igpub_cli import api
from igpub_cli.deployment import Deployment


class HashtagsError(Exception):
    """The HashtagsFunction answered with an error outcome."""


def repo(dep: Deployment) -> HashtagRepository:
    return HashtagRepository(dep.output("HashtagsTableName"), table=dep.table("HashtagsTableName"))


def invoke(dep: Deployment, payload: dict[str, Any]) -> dict[str, Any]:
    resp = dep.client("lambda").invoke(FunctionName=dep.output("HashtagsFunctionName"), Payload=json.dumps(payload))
    body: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise HashtagsError(f"the hashtags function failed: {body.get('errorMessage') or body}")
    if body.get("status") != "ok":
        raise HashtagsError(str(body.get("message") or body))
    return body


def discover(dep: Deployment, account_id: str, seeds: list[str], *, pool: str = DEFAULT_POOL) -> dict[str, Any]:
    return invoke(dep, {"action": "discover", "account_id": account_id, "seeds": seeds, "pool": pool})


def budget(dep: Deployment, account_id: str) -> dict[str, Any]:
    result: dict[str, Any] = invoke(dep, {"action": "budget", "account_id": account_id})["budget"]
    return result


# ------------------------------------------------------------------------------------------ commands


def _account(args: argparse.Namespace, dep: Deployment) -> str:
    if args.account:
        return str(args.account)
    return api.only_active_account(dep)


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def cmd_add(args: argparse.Namespace) -> int:
    dep = Deployment.load(stack=args.stack, region=args.region)
    pool, tags = normalise_pool(args.pool), [normalise_tag(t) for t in args.tags]
    account = _account(args, dep)
    r = repo(dep)
    now = int(time.time())
    for tag in dict.fromkeys(tags):
        r.put_tag(account, pool, tag, score=args.score, default_score=MANUAL_SCORE, source="manual", now=now)
    print(f"pool {pool}: added {len(set(tags))} hashtag(s) for account {account}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    dep = Deployment.load(stack=args.stack, region=args.region)
    pool, tags = normalise_pool(args.pool), [normalise_tag(t) for t in args.tags]
    removed = repo(dep).remove_tags(_account(args, dep), pool, tags)
    missing = [t for t in tags if t not in removed]
    note = f"; not in the pool: {', '.join(missing)}" if missing else ""
    print(f"pool {pool}: removed {len(removed)} hashtag(s){note}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    dep = Deployment.load(stack=args.stack, region=args.region)
    account = _account(args, dep)
    pools = repo(dep).pools(account)
    if args.pool:
        pools = {args.pool: pools.get(args.pool, [])}
    if args.json:
        print(json.dumps({p: [t.__dict__ for t in tags] for p, tags in pools.items()}, indent=2))
        return 0
    if not pools:
        print("No hashtag pools yet. Add some: igpub hashtags add POOL TAG... (or discover SEED...)")
        return 0
    for name, tags in sorted(pools.items()):
        print(f"{name} ({len(tags)} hashtags)")
        for t in sorted(tags, key=lambda t: (-t.score, t.tag.casefold())):
            extra = f"  engagement {t.engagement:,.0f} over {t.top_posts} top posts" if t.engagement is not None else ""
            print(f"  #{t.tag:<30} {t.score:>6.1f}  {t.source}{extra}")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    dep = Deployment.load(stack=args.stack, region=args.region)
    try:
        pool, seeds = normalise_pool(args.pool), [normalise_tag(s) for s in args.seeds]
        result = discover(dep, _account(args, dep), seeds, pool=pool)
    except HashtagsError as exc:
        print(f"igpub: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for r in result["results"]:
        if r["status"] == "added":
            cost = "new search" if r["counted"] else "repeat, free"
            print(f"  + #{r['tag']:<30} score {r['score']:>6.1f}  ({cost})")
        else:
            print(f"  {'-' if r['status'] == 'skipped' else '!'} #{r['tag']:<30} {r['status']}: {r['reason']}")
    if result.get("related"):
        print("  related (not searched): " + " ".join(f"#{t}" for t in result["related"]))
    b = result["budget"]
    print(f"pool {result['pool']}: {len(result['added'])} added; budget {b['used']}/{b['limit']} used in 7 days")
    return 0 if result["added"] or not result["results"] else 1


def cmd_budget(args: argparse.Namespace) -> int:
    dep = Deployment.load(stack=args.stack, region=args.region)
    try:
        b = budget(dep, _account(args, dep))
    except HashtagsError as exc:
        print(f"igpub: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(b, indent=2))
        return 0
    print(f"hashtag searches: {b['used']}/{b['limit']} unique in the last {b['window_s'] // 86400} days, "
          f"{b['remaining']} left")
    if b["next_free_at"]:
        print(f"next slot frees: {_when(b['next_free_at'])}")
    for s in b["slots"]:
        print(f"  #{s['tag']:<30} first searched {_when(s['first_search'])}  frees {_when(s['frees_at'])}")
    return 0


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = func(args)
        except InvalidInput as exc:
            print(f"igpub: {exc}", file=sys.stderr)
            return 2
        return code

    return run


def register(sub: Any) -> None:
    """Add `igpub hashtags ...` to the main parser's subcommands."""
    h = sub.add_parser("hashtags", help="hashtag pools, discovery (Facebook Login) and the search budget")
    hs = h.add_subparsers(dest="hashtags_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--account", help="account id (default: the only connected account)")
        p.add_argument("--json", action="store_true")
        return p

    a = common(hs.add_parser("add", help="add hashtags to a pool by hand"))
    a.add_argument("pool")
    a.add_argument("tags", nargs="+", metavar="TAG")
    a.add_argument("--score", type=float, help=f"preference 0-100 (default: keep, or {MANUAL_SCORE:g} when new)")
    a.set_defaults(func=_guard(cmd_add))

    r = common(hs.add_parser("remove", help="remove hashtags from a pool"))
    r.add_argument("pool")
    r.add_argument("tags", nargs="+", metavar="TAG")
    r.set_defaults(func=_guard(cmd_remove))

    ls = common(hs.add_parser("list", help="the pools and their hashtags, best first"))
    ls.add_argument("pool", nargs="?")
    ls.set_defaults(func=_guard(cmd_list))

    d = common(hs.add_parser("discover", help="search hashtags (Facebook Login), score them, add them to a pool"))
    d.add_argument("seeds", nargs="+", metavar="SEED")
    d.add_argument("--pool", default=DEFAULT_POOL)
    d.set_defaults(func=_guard(cmd_discover))

    b = common(hs.add_parser("budget", help="unique hashtag searches used in the last 7 days, and when each frees"))
    b.set_defaults(func=_guard(cmd_budget))
