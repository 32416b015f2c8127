"""Token refresher benchmark (not a test): 10,000 connected accounts, 200 of them due.

    python -m bench.refresh_bench [--accounts 10000] [--due 200] [--lambda] [--keep]

Needs the local stack (`make up`). What it does:

1. Connects ``due`` users at the fake Instagram directly (authorize -> code -> short -> long-lived token,
   without igpub: faster than the API Gateway flow) and ages their tokens at the fake by 47 days
   (``/_fake/tokens/age``: only these tokens; the fake's clock and other users are left alone).
2. Writes ``accounts`` items to the deployed accounts table with BatchWriteItem: the ``due`` ones with
   their KMS-encrypted real tokens, issued 47 days ago and expiring within 1-13 days; the rest not due
   (expiring in 15-59 days, dummy ciphertext) and 3 % of them needing re-authorisation (outside the
   sparse index).
3. Runs the refresher: in-process against the emulator (default; the same code and collaborators as the
   Lambda, with the usage guard on DynamoDB) or the deployed Lambda (``--lambda``), with the fake
   answering the refreshes.
4. Reports items read (from the query's ScannedCount), refreshed, and wall time; then deletes the items
   it wrote (unless ``--keep``).

It must read only what is due: ``items_read`` is about ``due``, not ``accounts``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from igpub.accounts import refresh
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.instagram.usage import StoreUsageGuard
from igpub.observability import logger
from igpub.repositories.accounts import ACTIVE_POOL, AccountRepository
from igpub.repositories.events import EventPublisher
from igpub.repositories.tokens import TokenCipher
from igpub.repositories.usage import DynamoUsageStore
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram

DAY = 86400
AGE_S = 47 * DAY
PREFIX = "bench-"


def _settings(dep: Deployment, **extra: Any) -> Settings:
    assert dep.fake_url, "the benchmark needs the local stack's fake Instagram"
    f = dep.fake_url.rstrip("/")
    return Settings(
        accounts_table=dep.output("AccountsTableName"),
        usage_table=dep.output("UsageTableName"),
        kms_key_id=dep.output("TokenKeyId"),
        graph_instagram_base=f"{f}/graph.instagram.com",
        instagram_api_base=f"{f}/api.instagram.com",
        **extra,
    )


def _connect_at_fake(dep: Deployment, fake: FakeInstagram, settings: Settings, n: int) -> list[tuple[str, str, str]]:
    """(user_id, username, long-lived token) for n fresh users, tokens aged AGE_S at the fake."""
    cfg = fake.get_config()
    redirect = f"{dep.output('ApiUrl')}/bench/callback"
    fake.config(allowed_redirect_uris=[*cfg.get("allowed_redirect_uris", []), redirect])
    authorize = f"{dep.fake_url}/www.instagram.com/oauth/authorize"
    run = secrets.token_hex(3)

    def one(i: int) -> tuple[str, str, str]:
        username = f"{PREFIX}{run}_{i:04d}"
        query = {"client_id": cfg["ig_app_id"], "redirect_uri": redirect, "response_type": "code",
                 "scope": "instagram_business_basic,instagram_business_content_publish", "login_as": username}
        with httpx.Client(timeout=30) as http, InstagramClient(settings) as client:
            resp = http.get(f"{authorize}?{urlencode(query)}")
            location = resp.headers["location"].split("#", 1)[0]
            code = parse_qs(urlsplit(location).query)["code"][0]
            short = client.exchange_code(code, redirect, cfg["ig_app_secret"], app_id=cfg["ig_app_id"])
            long = client.exchange_long_lived(short.access_token.get_secret_value(), cfg["ig_app_secret"])
            user_id = str(short.user_id)
            fake.http.post("/_fake/tokens/age", json={"user_id": user_id, "seconds": AGE_S}).raise_for_status()
            return user_id, username, long.access_token.get_secret_value()

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, range(n)))


def _items(dep: Deployment, due_users: list[tuple[str, str, str]], total: int, now: int) -> list[dict[str, Any]]:
    cipher = TokenCipher(dep.output("TokenKeyId"), client=dep.client("kms"))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now))
    base = {"account_type": "Business", "app_scoped_id": "", "connected_at": stamp, "updated_at": stamp,
            "scopes": ["instagram_business_basic", "instagram_business_content_publish"], "token_version": 1}
    items: list[dict[str, Any]] = []
    for i, (user_id, username, token) in enumerate(due_users):
        issued = now - AGE_S
        items.append({**base, "account_id": user_id, "username": username, "status": "active",
                      "refresh_pool": ACTIVE_POOL, "token_issued_at": issued,
                      "token_expires_at": now + (1 + i % 13) * DAY - 3600,
                      "token_ciphertext": cipher.encrypt(token, account_id=user_id)})
    dummy = secrets.token_bytes(200)
    for i in range(total - len(due_users)):
        expires = now + (15 + i % 45) * DAY
        item = {**base, "account_id": f"{PREFIX}nd-{i:05d}", "username": f"{PREFIX}nd_{i:05d}", "status": "active",
                "refresh_pool": ACTIVE_POOL, "token_issued_at": expires - 60 * DAY, "token_expires_at": expires,
                "token_ciphertext": dummy}
        if i % 33 == 0:  # ~3 %: need re-authorisation, outside the sparse index whatever their expiry
            item.update(status="needs_reauth", reauth_reason="bench", token_expires_at=now - DAY)
            del item["refresh_pool"]
        items.append(item)
    return items


def _write(dep: Deployment, items: list[dict[str, Any]]) -> None:
    with dep.table("AccountsTableName").batch_writer() as batch:  # BatchWriteItem, 25 per request
        for item in items:
            batch.put_item(Item=item)


def _delete(dep: Deployment, ids: list[str]) -> None:
    with dep.table("AccountsTableName").batch_writer() as batch:
        for account_id in ids:
            batch.delete_item(Key={"account_id": account_id})


def run(dep: Deployment, *, accounts: int = 10_000, due: int = 200, use_lambda: bool = False,
        keep: bool = False, concurrency: int = 8) -> dict[str, Any]:
    assert dep.fake_url, "the benchmark needs the local stack (make up)"
    fake = FakeInstagram(dep.fake_url)
    settings = _settings(dep, refresh_concurrency=concurrency)

    t0 = time.perf_counter()
    due_users = _connect_at_fake(dep, fake, settings, due)
    t_connect = time.perf_counter() - t0
    now = int(time.time())
    items = _items(dep, due_users, accounts, now)
    t0 = time.perf_counter()
    _write(dep, items)
    t_load = time.perf_counter() - t0

    try:
        t0 = time.perf_counter()
        if use_lambda:
            resp = dep.client("lambda").invoke(FunctionName=dep.output("RefresherFunctionName"), Payload=b"{}")
            report: dict[str, Any] = json.loads(resp["Payload"].read())
            if resp.get("FunctionError"):
                raise RuntimeError(f"the refresher failed: {report}")
        else:
            usage = StoreUsageGuard.from_settings(
                DynamoUsageStore(settings.usage_table, client=dep.client("dynamodb")), settings)
            with InstagramClient(settings, usage=usage) as client:
                deps = refresh.RefreshDeps(
                    settings=settings,
                    accounts=AccountRepository(settings.accounts_table, table=dep.table("AccountsTableName")),
                    cipher=TokenCipher(settings.kms_key_id, client=dep.client("kms")),
                    client=client,
                    events=EventPublisher(client=dep.client("events")),
                )
                report = refresh.refresh_due(deps).as_dict()
        wall = time.perf_counter() - t0

        tokens_ok = sum(
            1 for user_id, _, token in due_users
            if (t := fake.tokens(user_id)) and t[-1]["token"] != token and t[-1]["kind"] == "ig_long"
        )
    finally:
        if not keep:
            _delete(dep, [str(i["account_id"]) for i in items])

    return {
        "accounts": accounts,
        "due": due,
        "items_read": report["items_read"],
        "refreshed": report["refreshed"],
        "failed": report["failed"] + report["transient_failures"] + report["needs_reauth"],
        "new_tokens_at_fake": tokens_ok,
        "wall_s": round(wall, 3),
        "refreshes_per_s": round(report["refreshed"] / wall, 1) if wall else None,
        "mode": "lambda" if use_lambda else "in-process",
        "concurrency": concurrency,
        "setup_connect_s": round(t_connect, 1),
        "setup_batch_write_s": round(t_load, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.refresh_bench", description=__doc__.split("\n")[0])
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--due", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--lambda", dest="use_lambda", action="store_true", help="invoke the deployed refresher")
    p.add_argument("--keep", action="store_true", help="leave the accounts in the table")
    args = p.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    logger.setLevel("WARNING")  # one INFO line per refreshed token otherwise
    dep = Deployment.load()
    result = run(dep, accounts=args.accounts, due=args.due, use_lambda=args.use_lambda, keep=args.keep,
                 concurrency=args.concurrency)
    print(json.dumps(result, indent=2))
    return 0 if result["items_read"] <= args.due * 1.05 and result["refreshed"] == args.due else 1


if __name__ == "__main__":
    sys.exit(main())
