"""`igpub hashtags ...`: pools by hand (add/remove/list, straight to DynamoDB), and discovery and the
search budget through the deployed HashtagsFunction (it holds the Facebook token and enforces the budget).

Also usable from programs: ``discover(dep, account_id, seeds)``, ``budget(dep, account_id)``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from igpub.hashtags import DEFAULT_POOL, MANUAL_SCORE, normalise_pool, normalise_tag
from igpub.repositories.hashtags import HashtagRepository
from igpub_cli import api, ui
from igpub_cli.deployment import Deployment


class HashtagsError(Exception):
    """The HashtagsFunction answered with an error outcome (``kind``: invalid, not_connected, busy, ...)."""

    def __init__(self, message: str, kind: str = "function") -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def refused(self) -> bool:
        """The input was wrong (exit code 2): bad seeds, or no Facebook Login for the account."""
        return self.kind in ("invalid", "not_connected")


def repo(dep: Deployment) -> HashtagRepository:
    return HashtagRepository(dep.output("HashtagsTableName"), table=dep.table("HashtagsTableName"))


def invoke(dep: Deployment, payload: dict[str, Any]) -> dict[str, Any]:
    resp = dep.client("lambda").invoke(FunctionName=dep.output("HashtagsFunctionName"), Payload=json.dumps(payload))
    body: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise HashtagsError(f"the hashtags function failed: {body.get('errorMessage') or body}")
    if body.get("status") != "ok":
        raise HashtagsError(str(body.get("message") or body), str(body.get("error") or "function"))
    return body


def discover(dep: Deployment, account_id: str, seeds: list[str], *, pool: str = DEFAULT_POOL) -> dict[str, Any]:
    return invoke(dep, {"action": "discover", "account_id": account_id, "seeds": seeds, "pool": pool})


def budget(dep: Deployment, account_id: str) -> dict[str, Any]:
    result: dict[str, Any] = invoke(dep, {"action": "budget", "account_id": account_id})["budget"]
    return result


# ------------------------------------------------------------------------------------------ commands

app = typer.Typer(
    help="Hashtag pools (by hand), discovery through Facebook Login, and the 30-searches-per-7-days budget.",
    rich_markup_mode="markdown",
    no_args_is_help=True,
)

AccountOption = Annotated[
    str | None, typer.Option(help="Account id. Default: IGPUB_ACCOUNT, else the only active account.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PoolArg = Annotated[str, typer.Argument(help="Pool name: 1-64 of A-Z a-z 0-9 _ . -", metavar="POOL")]
TagsArg = Annotated[list[str], typer.Argument(help="Hashtags, with or without the #.", metavar="TAG...")]


def _account(account: str | None, dep: Deployment) -> str:
    return account or api.only_active_account(dep)


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


@app.command("add")
def cmd_add(
    ctx: typer.Context,
    pool: PoolArg,
    tags: TagsArg,
    score: Annotated[float | None, typer.Option(help=f"Preference 0-100. Default: keep a tag's score, or "
                                                     f"{MANUAL_SCORE:g} for a new tag.")] = None,
    account: AccountOption = None,
) -> None:
    """Add hashtags to a pool by hand (the pool is created with its first tag)."""
    dep = ui.dep(ctx)
    pool, names = normalise_pool(pool), [normalise_tag(t) for t in tags]
    account_id = _account(account, dep)
    r = repo(dep)
    now = int(time.time())
    before = {t.tag for t in r.pool(account_id, pool)}
    for tag in dict.fromkeys(names):
        r.put_tag(account_id, pool, tag, score=score, default_score=MANUAL_SCORE, source="manual", now=now)
    new = [t for t in dict.fromkeys(names) if t not in before]
    already = [t for t in dict.fromkeys(names) if t in before]
    note = ""
    if already:
        note = f"; already in it: {', '.join(already)}" + (" (score updated)" if score is not None else "")
    ui.line(f"pool {pool}: added {len(new)} hashtag(s) for account {account_id}{note}")


@app.command("remove")
def cmd_remove(ctx: typer.Context, pool: PoolArg, tags: TagsArg, account: AccountOption = None) -> None:
    """Remove hashtags from a pool."""
    dep = ui.dep(ctx)
    pool, names = normalise_pool(pool), [normalise_tag(t) for t in tags]
    removed = repo(dep).remove_tags(_account(account, dep), pool, names)
    missing = [t for t in names if t not in removed]
    note = f"; not in the pool: {', '.join(missing)}" if missing else ""
    ui.line(f"pool {pool}: removed {len(removed)} hashtag(s){note}")


@app.command("list")
def cmd_list(
    ctx: typer.Context,
    pool: Annotated[str | None, typer.Argument(help="Only this pool. Default: every pool.")] = None,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """The pools and their hashtags, best first."""
    dep = ui.dep(ctx)
    pools = repo(dep).pools(_account(account, dep))
    if pool:
        pools = {pool: pools.get(pool, [])}
    if as_json:
        ui.print_json({p: [t.__dict__ for t in tags] for p, tags in pools.items()})
        return
    if not pools:
        ui.line("No hashtag pools yet. Add some: igpub hashtags add POOL TAG... (or discover SEED...)")
        return
    for name, tags in sorted(pools.items()):
        ui.table(
            f"{name} ({len(tags)} hashtags)",
            ["HASHTAG", ">SCORE", "SOURCE", ">ENGAGEMENT", ">TOP POSTS"],
            [(f"#{t.tag}", f"{t.score:.1f}", t.source,
              f"{t.engagement:,.0f}" if t.engagement is not None else "", t.top_posts if t.engagement is not None
              else "") for t in sorted(tags, key=lambda t: (-t.score, t.tag.casefold()))],
        )


@app.command("discover")
def cmd_discover(
    ctx: typer.Context,
    seeds: Annotated[list[str], typer.Argument(help="Hashtags to search, with or without the #.",
                                               metavar="SEED...")],
    pool: Annotated[str, typer.Option(help="The pool to add the hashtags to.")] = DEFAULT_POOL,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search hashtags (Facebook Login), score them by their top posts, add them to a pool.

    Each new hashtag costs one of the 30 unique searches per 7 days; exit code 1 when none was added.
    """
    dep = ui.dep(ctx)
    pool, names = normalise_pool(pool), [normalise_tag(s) for s in seeds]
    try:
        result = discover(dep, _account(account, dep), names, pool=pool)
    except HashtagsError as exc:
        if exc.refused:
            ui.refuse(str(exc))
        ui.fail(str(exc))
    if as_json:
        ui.print_json(result)
    else:
        ui.table(
            None,
            ["HASHTAG", "RESULT", ">SCORE", "NOTE"],
            [(f"#{r['tag']}", r["status"], f"{r['score']:.1f}" if r["status"] == "added" else "",
              ("new search" if r["counted"] else "repeat, free") if r["status"] == "added" else r.get("reason", ""))
             for r in result["results"]],
        )
        if result.get("related"):
            ui.line("related (not searched): " + " ".join(f"#{t}" for t in result["related"]))
        b = result["budget"]
        ui.line(f"pool {result['pool']}: {len(result['added'])} added; budget {b['used']}/{b['limit']} used in 7 days")
    if not result["added"] and result["results"]:
        raise typer.Exit(ui.FAILED)


@app.command("budget")
def cmd_budget(ctx: typer.Context, account: AccountOption = None, as_json: JsonOption = False) -> None:
    """Unique hashtag searches used in the last 7 days, and when each slot frees."""
    dep = ui.dep(ctx)
    try:
        b = budget(dep, _account(account, dep))
    except HashtagsError as exc:
        if exc.refused:
            ui.refuse(str(exc))
        ui.fail(str(exc))
    if as_json:
        ui.print_json(b)
        return
    ui.line(f"hashtag searches: {b['used']}/{b['limit']} unique in the last {b['window_s'] // 86400} days, "
            f"{b['remaining']} left")
    if b["next_free_at"]:
        ui.line(f"next slot frees: {_when(b['next_free_at'])}")
    if b["slots"]:
        ui.table(None, ["HASHTAG", "FIRST SEARCHED", "FREES"],
                 [(f"#{s['tag']}", _when(s["first_search"]), _when(s["frees_at"])) for s in b["slots"]])
