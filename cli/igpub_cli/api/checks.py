"""What is refused before anything is uploaded or started: the account, the hashtag pool, the time,
local files and request files. Each check raises ``RequestInvalid`` with every problem at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import PAST_TOLERANCE, parse_request, schedule_problems
from igpub.repositories.hashtags import HashtagRepository
from igpub_cli.api.accounts import list_accounts
from igpub_cli.api.deps import accounts_repo
from igpub_cli.deployment import Deployment

PAST_TOLERANCE_MIN = PAST_TOLERANCE.seconds // 60


def _account_problems(dep: Deployment, account_id: str) -> list[str]:
    account = accounts_repo(dep).get(account_id, public=True)
    if account is None:
        known = ", ".join(f"@{a.username}={a.account_id}" for a in list_accounts(dep)) or "none"
        return [f"account {account_id} is not connected to igpub (connected: {known}); connect it with igpub connect"]
    if account.status != "active":
        return [
            f"@{account.username} ({account_id}) is {account.status} "
            f"({account.reauth_reason or 'its token no longer works'}): reconnect it with igpub connect"
        ]
    return []


def _pool_problems(dep: Deployment, account_id: str, pool: str) -> list[str]:
    repo = HashtagRepository(dep.output("HashtagsTableName"), table=dep.table("HashtagsTableName"))
    if repo.pool(account_id, pool):
        return []
    pools = repo.pools(account_id)
    names = ", ".join(sorted(pools)) or "none yet"
    return [
        f"hashtag pool {pool!r} does not exist for account {account_id} (its pools: {names}); "
        f"create it with igpub hashtags add {pool} TAG..."
    ]


def parse_time(value: str | datetime) -> datetime | str:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def preflight(
    dep: Deployment,
    *,
    account_id: str,
    hashtag_pool: str | None = None,
    publish_at: str | datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Refuse (``RequestInvalid``, every problem at once) what would only fail after the execution
    started: an account that is not connected or not active, a hashtag pool that does not exist, a
    ``publish_at`` more than ``PAST_TOLERANCE_MIN`` minutes in the past (or without a time zone, or too far ahead)."""
    problems = _account_problems(dep, account_id)
    if hashtag_pool is not None and not problems:
        problems += _pool_problems(dep, account_id, hashtag_pool)
    if publish_at is not None:
        at = parse_time(publish_at)
        if isinstance(at, str):
            problems.append(f"publish_at {at!r} is not an ISO 8601 time, e.g. 2026-12-01T09:00:00+01:00")
        else:
            problems += schedule_problems(at, now or datetime.now(UTC))
    if problems:
        raise RequestInvalid(problems)


def check_files(paths: list[Path]) -> None:
    """Refuse local files that do not exist or cannot be read, before anything is uploaded."""
    problems = [f"{p}: no such file" for p in paths if not p.exists()]
    problems += [f"{p}: is a folder, not a file" for p in paths if p.is_dir()]
    if problems:
        raise RequestInvalid(problems)


def read_request_file(path: Path) -> Any:
    """The JSON in ``path`` (a request, or a list of requests); refused when missing or not JSON."""
    check_files([path])
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise RequestInvalid([f"{path} is not valid JSON: {exc}"]) from None


def load_requests(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(source, request)`` pairs from a JSON file holding one request or a list of them, or from a folder
    of such files (``*.json``, by name); the source says where each came from, e.g. ``posts.json[2]``."""
    if not path.is_dir():
        check_files([path])
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise RequestInvalid([f"{path} holds no .json files"])
    out: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    for file in files:
        data = read_request_file(file)
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            source = f"{file.name}[{i}]" if isinstance(data, list) else file.name
            if isinstance(item, dict):
                out.append((source, item))
            else:
                problems.append(f"{source}: a post request is a JSON object, not {type(item).__name__}")
    if problems:
        raise RequestInvalid(problems)
    return out


def check_requests(dep: Deployment, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Every problem of every request, each named by its source; nothing is started when this raises."""
    problems: list[str] = []
    for source, data in items:
        try:
            req = parse_request(data, allow_http=dep.local)
            preflight(dep, account_id=req.account_id, hashtag_pool=req.hashtag_pool)
        except RequestInvalid as exc:
            problems += [f"{source}: {p}" for p in exc.problems]
    if problems:
        raise RequestInvalid(problems)
