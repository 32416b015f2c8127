"""`make chaos`: the publish fault suite at scale. 500 posts over 25 accounts while the fake Instagram
injects every fault kind it has and a fault proxy between the publisher Lambda and the AWS emulator
(local/awsfaults.py) throttles, fails (HTTP 500) and delays its DynamoDB and KMS calls at seeded rates;
every post must end published or failed with a reason a person can act on, none may be published twice,
none may be lost, none may fail for a transient cause (Instagram's or AWS's).

    python -m bench.chaos [--posts 500] [--accounts 25] [--seed 2026] [--in-flight 8] [--no-aws-faults]

Needs the local stack (`make up`). Resets the fake Instagram (its users, media, clock and faults), so
accounts connected before must be connected again afterwards. Takes about 5-10 minutes here.

Time is compressed: Step Functions Waits run at WAIT_SCALE (a 5 s poll takes 0.1 s, a 300 s
rate-limit wait 6 s). igpub's per-account blocks after a throttle are kept in DynamoDB in real time
(300-900 s), so a helper thread compresses them by the same factor: once WAIT_SCALE of a block's
length has passed, it ends the block (nothing else about the account's usage is touched).
Real-time delays at the fake are not compressed. The worst publish is in the mix: a media_publish
that outlasts igpub's publish timeout (60 s) and then completes at Instagram. igpub does not publish
a FINISHED container again until PublishVerifyDelaySeconds (real time) after such an attempt, so it
finds the container PUBLISHED instead (LATE_PUBLISH_NOTE).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bench import common
from igpub.observability import logger
from igpub.repositories.posts import FINAL, PostRecord
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale
from local.awsfaults import AwsFaultProxy, FaultRule, attached

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "chaos-results.json"
WAIT_SCALE = 0.02


LATE_PUBLISH_NOTE = (
    "A media_publish that Instagram completes after igpub's publish timeout (60 s): igpub does not publish the "
    "still-FINISHED container again until PublishVerifyDelaySeconds (real time) after the attempt, by when "
    "the late publish has landed and the container reads PUBLISHED."
)


def fault_mix(seed: int, *, late_publish: bool = True) -> list[dict[str, Any]]:
    """Every fault kind of the fake, on the calls where it hurts; seeded, so a run can be repeated."""
    status = r"^GET /\d+$"
    create = r"^POST /\d+/media$"
    publish = r"^POST /\d+/media_publish$"
    ig = "graph.instagram.com"
    rules: list[dict[str, Any]] = [
        # throttles (codes 4, 17, 80002): each blocks its account (300-900 s, compressed, see above)
        {"match": status, "host": ig, "kind": "throttle", "code": 4, "skip": 150, "times": 1},
        {"match": status, "host": ig, "kind": "throttle", "code": 17, "skip": 600, "times": 1},
        {"match": status, "host": ig, "kind": "throttle", "code": 80002, "skip": 1000, "times": 1},
        {"match": publish, "host": ig, "kind": "throttle", "code": 80002, "skip": 250, "times": 1},
        # timeouts longer than igpub's 10 s client timeout (they cost real time: a few only); the
        # request still happens at Instagram after the wait, as a slow server would do it
        {"match": status, "host": ig, "kind": "timeout", "seconds": 11, "skip": 400, "times": 1},
        # a publish that outlasts igpub's 60 s publish timeout, then completes at Instagram (see
        # LATE_PUBLISH_NOTE); with --hang-publish it never completes (the connection is dropped)
        {"match": publish, "host": ig, "kind": "timeout", "seconds": 65, "skip": 100, "times": 2,
         "hang": not late_publish},
        # dropped publishes: the connection dies before / after Instagram published
        {"match": publish, "host": ig, "kind": "drop_after", "probability": 0.06},
        {"match": publish, "host": ig, "kind": "drop_before", "probability": 0.04},
        {"match": publish, "host": ig, "kind": "http_500", "probability": 0.03},
        # Instagram published, the answer hides it: a 5xx marked not transient, a 2xx without a media id; and
        # the 2xx without a body when nothing was published (igpub verifies the container before anything)
        {"match": publish, "host": ig, "kind": "http_500", "is_transient": False, "after": True, "probability": 0.03},
        {"match": publish, "host": ig, "kind": "empty", "after": True, "probability": 0.03},
        {"match": publish, "host": ig, "kind": "empty", "probability": 0.02},
        # container creation
        {"match": create, "host": ig, "kind": "http_503", "probability": 0.04},
        {"match": create, "host": ig, "kind": "graph_error", "code": 2, "is_transient": True,
         "message": "Service temporarily unavailable", "http_status": 503, "probability": 0.02},
        # a permanent error (Instagram cannot fetch the media): the post must fail, with the reason
        {"match": create, "host": ig, "kind": "graph_error", "code": 9004, "subcode": 2207052,
         "message": "Media download has failed. The media URI doesn't meet our requirements.",
         "http_status": 400, "probability": 0.01},
        # status reads
        {"match": status, "host": ig, "kind": "http_500", "probability": 0.03},
        {"match": status, "host": ig, "kind": "transient_read", "probability": 0.03},
        {"match": status, "host": ig, "kind": "graph_error", "code": 1, "is_transient": True,
         "message": "An unknown error has occurred.", "http_status": 500, "probability": 0.02},
    ]
    for i, rule in enumerate(rules):
        if "probability" in rule:
            rule["seed"] = seed * 100 + i
    return rules


# The only permanent fault in the mix is Instagram refusing the media (9004/2207052): a post failing with any
# other code failed because of a transient fault that was not absorbed; chaos must end with none of them.
PERMANENT_FAILURE_CODES = ("invalid_media",)


def aws_fault_mix() -> list[FaultRule]:
    """AWS under stress, for the publisher's DynamoDB and KMS calls (seeded through the proxy's seed)."""
    return [
        FaultRule(service="dynamodb", fault="throttle", rate=0.08),
        FaultRule(service="dynamodb", fault="http_500", rate=0.03),
        # the request is applied, the answer arrives after boto3's 10 s read timeout (then retried)
        FaultRule(service="dynamodb", fault="delay", rate=0.002, delay_s=11),
        FaultRule(service="kms", fault="throttle", rate=0.10),
        FaultRule(service="kms", fault="http_500", rate=0.05),
    ]


def publisher_function(dep: Deployment) -> str:
    names = [f["FunctionName"] for page in dep.client("lambda").get_paginator("list_functions").paginate()
             for f in page["Functions"] if "PublisherFunction" in f["FunctionName"]]
    if len(names) != 1:
        raise SystemExit(f"expected one PublisherFunction in the local stack, found {names}")
    return names[0]


def post_requests(fake: FakeInstagram, accounts: list[Any], n: int, run: str) -> list[dict[str, Any]]:
    """Mostly images; every 7th a carousel of three; every 25th a Reel (short processing)."""
    out = []
    for i in range(n):
        account = accounts[i % len(accounts)]
        caption = f"chaos {run} #{i}"
        if i % 25 == 24:
            media = [{"url": fake.cdn("video.mp4", seconds=10, mb=1, seed=i)}]
            kind = "reel"
        elif i % 7 == 6:
            media = [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=i * 10 + k)} for k in range(3)]
            kind = "carousel"
        else:
            media = [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=i)}]
            kind = "image"
        out.append({"account_id": account.account_id, "kind": kind, "caption": caption, "media": media})
    return out


class BlockCompressor(threading.Thread):
    """Ends igpub's per-account throttle blocks after WAIT_SCALE of their length (see the module doc)."""

    def __init__(self, dep: Deployment) -> None:
        super().__init__(daemon=True)
        self.ddb = dep.client("dynamodb")
        self.table = dep.output("UsageTableName")
        self.stop = threading.Event()
        self.blocks_seen: set[tuple[str, str]] = set()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self._once()
            except (BotoCoreError, ClientError) as exc:  # keep going; a missed round only delays a post
                print(f"block compressor: {exc}", file=sys.stderr)

    def _once(self) -> None:
        now = time.time()
        for item in self.ddb.scan(TableName=self.table).get("Items", []):
            until, start = item.get("blocked_until", {}).get("N"), item.get("pct_at", {}).get("N")
            if until is None or start is None or float(until) <= now:
                continue
            self.blocks_seen.add((item["pk"]["S"], until))
            if now - float(start) >= (float(until) - float(start)) * WAIT_SCALE:
                try:
                    self.ddb.update_item(
                        TableName=self.table, Key={"pk": item["pk"]},
                        UpdateExpression="SET blocked_until = :now",
                        ConditionExpression="blocked_until = :until",
                        ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}, ":until": {"N": until}},
                    )
                except self.ddb.exceptions.ConditionalCheckFailedException:
                    pass


def publish_all(dep: Deployment, requests: list[dict[str, Any]], in_flight: int,
                timeout_s: float) -> tuple[list[PostRecord | None], list[str]]:
    """Like igpub_cli.api.publish_many, but a post without a final record is reported, not raised."""
    sfn = dep.client("stepfunctions")
    posts = api.posts_repo(dep)
    pending = list(enumerate(requests))
    running: dict[int, api.Submission] = {}
    done: dict[int, PostRecord | None] = {}
    problems: list[str] = []
    deadline = time.monotonic() + timeout_s
    last_report = time.monotonic()
    while (pending or running) and time.monotonic() < deadline:
        while pending and len(running) < in_flight:
            i, request = pending.pop(0)
            running[i] = api.submit_post(dep, request)
        time.sleep(0.3)
        for i, sub in list(running.items()):
            status = sfn.describe_execution(executionArn=sub.execution_arn)["status"]
            if status == "RUNNING":
                continue
            done[i] = posts.get(sub.post_id)
            if done[i] is None or done[i].status not in FINAL:  # type: ignore[union-attr]
                problems.append(f"post {sub.post_id}: execution {status} without a final record")
            del running[i]
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"  {len(done)}/{len(requests)} done, {len(running)} running", file=sys.stderr, flush=True)
    for i, sub in running.items():
        problems.append(f"post {sub.post_id}: still running after {timeout_s:.0f} s")
        done[i] = posts.get(sub.post_id)
    for i, _ in pending:
        problems.append(f"request {i}: never submitted (time ran out)")
        done[i] = None
    return [done.get(i) for i in range(len(requests))], problems


def run(dep: Deployment, fake: FakeInstagram, *, n_posts: int, n_accounts: int, seed: int,
        in_flight: int, timeout_s: float, late_publish: bool = True, aws_faults: bool = True) -> dict[str, Any]:
    assert dep.endpoint_url
    common.stop_running_executions(dep)
    fake.reset()
    fake.config(quota_total=1000,
                processing_seconds={**fake.get_config()["processing_seconds"], "IMAGE": 0.2, "REELS": 0.5})
    set_wait_scale(dep.endpoint_url, WAIT_SCALE)
    names = [f"chaos_{i}" for i in range(n_accounts)]
    accounts = common.connect_users(dep, fake, names)
    common.clear_usage(dep)
    run_id = f"{seed}-{int(time.time())}"
    requests = post_requests(fake, accounts, n_posts, run_id)
    rules = fault_mix(seed, late_publish=late_publish)
    fake.faults(rules)
    fake.clear_calls()
    compressor = BlockCompressor(dep)
    compressor.start()
    proxy = AwsFaultProxy(dep.endpoint_url, aws_fault_mix() if aws_faults else [], seed=seed).start()
    t0 = time.monotonic()
    try:
        with attached(dep.client("lambda"), publisher_function(dep), proxy.url, services=("dynamodb", "kms")):
            records, problems = publish_all(dep, requests, in_flight, timeout_s)
    finally:
        compressor.stop.set()
        proxy.stop()
        fired = fake.get_faults()
        fake.clear_faults()
    wall = time.monotonic() - t0

    media_by_caption: Counter[str] = Counter()
    for a in accounts:
        for m in fake.media(a.account_id):
            media_by_caption[m.get("caption") or ""] += 1
    statuses = Counter(r.status if r else "missing" for r in records)
    failed = [r for r in records if r and r.status == "failed"]
    failed_with_reason = Counter(r.failure_code or "unknown" for r in failed if r.failure_reason)
    examples = {}
    for r in failed:
        if r.failure_reason and (r.failure_code or "unknown") not in examples:
            examples[r.failure_code or "unknown"] = r.failure_reason
    published_twice = sum(1 for req in requests if media_by_caption[req["caption"]] > 1)
    kinds = Counter(req["kind"] for req in requests)
    calls = [c for c in fake.calls() if c["host"] == "graph.instagram.com"]
    return {
        "date": time.strftime("%Y-%m-%d"),
        "command": "make chaos",
        "seed": seed,
        "posts": n_posts,
        "accounts": n_accounts,
        "kinds": dict(kinds),
        "in_flight": in_flight,
        "wait_scale": WAIT_SCALE,
        "published": statuses["published"],
        "failed": statuses["failed"],
        "failed_with_reason": dict(failed_with_reason),
        "failed_reason_examples": examples,
        "failed_without_reason": sum(1 for r in failed if not r.failure_reason),
        "failed_transient": sum(1 for r in failed if (r.failure_code or "unknown") not in PERMANENT_FAILURE_CODES),
        "published_twice": published_twice,
        "lost": sum(1 for r in records if r is None or r.status not in FINAL),
        "published_at_instagram": sum(1 for req in requests if media_by_caption[req["caption"]] >= 1),
        "reported_failed_but_published": sum(
            1 for r, req in zip(records, requests, strict=True)
            if r and r.status == "failed" and media_by_caption[req["caption"]] >= 1),
        "reported_published_but_absent": sum(
            1 for r, req in zip(records, requests, strict=True)
            if r and r.status == "published" and media_by_caption[req["caption"]] == 0),
        "instagram_calls": len(calls),
        "throttle_blocks_compressed": len(compressor.blocks_seen),
        "faults_fired": {f"{f['kind']}{'/' + str(f['code']) if f.get('code') else ''}"
                         f"{' after acting' if f.get('after') else ''} on {f['match']}": f["fired"] for f in fired},
        "aws_faults": aws_faults,
        "aws_fault_mix": [rule.model_dump(exclude_defaults=True) for rule in (aws_fault_mix() if aws_faults else [])],
        "aws_requests": sum(proxy.requests.values()),
        "aws_faults_fired": dict(sorted(proxy.fired.items())),
        "late_publish": late_publish,
        "fault_mix": rules,
        "problems": problems[:20],
        "wall_s": round(wall, 1),
    }


def table(r: dict[str, Any]) -> str:
    kinds = ", ".join(f"{v} {k}" for k, v in r["kinds"].items())
    lines = [f"igpub chaos - {r['date']} - seed {r['seed']}: {r['posts']} posts ({kinds}) over {r['accounts']} "
             f"accounts, {r['in_flight']} in flight, waits x{r['wait_scale']}, {r['wall_s']:.0f} s",
             "",
             f"  {'posts':<34}{r['posts']:>6}",
             f"  {'published':<34}{r['published']:>6}",
             f"  {'failed (all with a reason)' if not r['failed_without_reason'] else 'failed':<34}{r['failed']:>6}"]
    for code, n in sorted(r["failed_with_reason"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {code:<32}{n:>6}   e.g. {r['failed_reason_examples'].get(code, '')[:90]}")
    if r["failed_without_reason"]:
        lines.append(f"  {'failed WITHOUT a reason':<34}{r['failed_without_reason']:>6}")
    lines += [f"  {'failed, transient cause (must be 0)':<34}{r['failed_transient']:>6}",
              f"  {'published twice (must be 0)':<34}{r['published_twice']:>6}",
              f"  {'lost, no final status (must be 0)':<34}{r['lost']:>6}",
              f"  {'reported failed but published':<34}{r['reported_failed_but_published']:>6}",
              f"  {'reported published but absent':<34}{r['reported_published_but_absent']:>6}",
              "",
              f"  Instagram calls {r['instagram_calls']}; throttle blocks compressed {r['throttle_blocks_compressed']}",
              "  faults fired:"]
    for k, n in r["faults_fired"].items():
        lines.append(f"    {n:>5}  {k}")
    if r["aws_faults"]:
        lines.append(f"  AWS requests of the publisher {r['aws_requests']}; AWS faults fired (fault proxy):")
        for k, n in r["aws_faults_fired"].items():
            lines.append(f"    {n:>5}  {k}")
    for p in r["problems"]:
        lines.append(f"  problem: {p}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    p.add_argument("--posts", type=int, default=500)
    p.add_argument("--accounts", type=int, default=25)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--in-flight", type=int, default=8)
    p.add_argument("--timeout", type=float, default=1500, help="seconds for the whole run")
    p.add_argument("--no-aws-faults", action="store_true", help="no fault proxy between the Lambdas and AWS")
    p.add_argument("--hang-publish", action="store_true",
                   help="publish timeouts never complete at Instagram (default: they complete late, the worse case)")
    args = p.parse_args(argv)
    dep, fake = common.local_stack()
    logger.setLevel("WARNING")
    result = run(dep, fake, n_posts=args.posts, n_accounts=args.accounts, seed=args.seed,
                 in_flight=args.in_flight, timeout_s=args.timeout, late_publish=not args.hang_publish,
                 aws_faults=not args.no_aws_faults)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\n(wrote {RESULTS.relative_to(ROOT)})")
    ok = (result["published_twice"] == 0 and result["lost"] == 0 and result["failed_without_reason"] == 0
          and result["failed_transient"] == 0)
    if not ok:
        print("CHAOS FAILED: a post was published twice, lost, failed without a reason or for a transient cause",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
