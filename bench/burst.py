"""`make burst`: the 9 o'clock burst - N image posts over M accounts, all with the same publish_at.

    python -m bench.burst [--posts 100] [--accounts 10] [--lead-s auto] [--image-processing-s 3] [--warm]

Needs the local stack (`make up`); not part of CI (minutes of wall time, and the figures depend on the
machine). What it does:

1. Connects M fake users through igpub's OAuth flow (idempotent), forgets their call counters.
2. Sets real-time Step Functions waits and image processing at the fake of a few seconds
   (``--image-processing-s``, default 3 s: small JPEGs finish "within seconds" at Instagram).
3. Submits N image posts, N/M per account, all with the same ``publish_at`` (``--lead-s`` after the
   start, default: enough for the submissions at this machine's rate plus a margin), 16 in parallel.
4. Unless ``--warm``: drops the Lambda environments the Prepares left warm (a configuration update of
   the publisher, which the emulator, like Lambda, answers with new environments), so the burst meets
   cold environments as a 9 o'clock burst after a quiet night does.
5. Waits until every execution has ended, sampling the running executions and the publisher
   invocations in progress (from its START/REPORT log lines).
6. Reports lateness (``publish_at`` -> the fake's time of each successful ``media_publish``) p50/p95/max,
   Instagram throttles (any error answer from the fake, which injects no fault here; must be 0), quota waits
   (``WaitForQuota`` / ``WaitRateLimited*`` states entered), Lambda and Step Functions errors and
   retries (from the execution histories), peak executions past their Wait and peak publisher
   invocations in progress, and the cost per 1,000 posts (``bench.posts.cost_per_post`` over the
   whole burst).

Writes ``burst-results.json`` (git-ignored) and prints a table. Exit 1 if any post did not publish.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common, posts
from bench.prices import PRICES, PRICES_DATE
from igpub.observability import logger
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "burst-results.json"
IG_HOST = "graph.instagram.com"
QUOTA_STATES = {"WaitForQuota", "WaitRateLimitedCheck", "WaitRateLimitedCreate"}


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


class Sampler(threading.Thread):
    """Every few seconds: how many executions are still running."""

    def __init__(self, dep: Deployment, every_s: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.sfn = dep.client("stepfunctions")
        self.arn = dep.output("PublishStateMachineArn")
        self.every_s = every_s
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.errors: list[str] = []

    def running(self) -> int:
        n = 0
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.arn,
                                                                           statusFilter="RUNNING"):
            n += len(page["executions"])
        return n

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.time(), self.running()))
            except Exception as exc:  # noqa: BLE001 - a missed sample is not a result
                self.errors.append(str(exc)[:200])
            self.stop.wait(self.every_s)


def _invocations(dep: Deployment, function: str, start_ms: int) -> list[dict[str, Any]]:
    """Every publisher invocation since start_ms: start/end (ms), billed ms, memory, log bytes, AWS requests."""
    out: dict[str, dict[str, Any]] = {}
    for e in common.log_events(dep, f"/aws/lambda/{function}", start_ms):
        line, ts = e["message"], e["timestamp"]
        rid = None
        if line.startswith(("START RequestId: ", "END RequestId: ", "REPORT RequestId: ")):
            rid = line.split()[2]
            inv = out.setdefault(rid, {"log_bytes": 0, "aws_requests": {}})
            inv["log_bytes"] += len(line.encode()) + 1
            if line.startswith("REPORT"):  # the emulator stamps an invocation's lines when it ends
                fields = dict(p.split(": ", 1) for p in line.split("\t") if ": " in p)
                inv["end"] = ts
                inv["start"] = ts - float(fields.get("Duration", "0 ms").split()[0])
                inv["billed_ms"] = float(fields.get("Billed Duration", "0 ms").split()[0])
                inv["memory_mb"] = int(fields.get("Memory Size", "512 MB").split()[0])
        elif line.startswith("{") and '"step done"' in line:
            data = json.loads(line)
            rid = data.get("function_request_id")
            inv = out.setdefault(rid or f"x{len(out)}", {"log_bytes": 0, "aws_requests": {}})
            inv["log_bytes"] += len(line.encode()) + 1
            inv["cold"], inv["step"] = bool(data.get("cold_start")), data.get("step")
            for k, n in (data.get("aws_requests") or {}).items():
                inv["aws_requests"][k] = inv["aws_requests"].get(k, 0) + n
    return list(out.values())


def _peak_concurrency(invs: list[dict[str, Any]]) -> int:
    edges = sorted([(i["start"], 1) for i in invs if "start" in i and "end" in i]
                   + [(i["end"], -1) for i in invs if "start" in i and "end" in i])
    peak = cur = 0
    for _, d in edges:
        cur += d
        peak = max(peak, cur)
    return peak


def run(dep: Deployment, fake: FakeInstagram, *, n_posts: int, n_accounts: int, lead_s: float | None,
        image_processing_s: float, submit_threads: int = 16, publisher_concurrency: int | None = None,
        cold: bool = True) -> dict[str, Any]:
    assert dep.endpoint_url
    common.stop_running_executions(dep)
    run_id = f"{int(time.time()) % 100000:05d}"
    # new users every run: the fake (like Instagram) counts each user's calls over a rolling hour, so
    # users from an earlier run would start near their budget and wait (quota waits are then igpub's
    # correct answer, not the burst's cost)
    users = [f"burst{run_id}_{i:03d}" for i in range(n_accounts)]
    t0 = time.time()
    accounts = common.connect_users(dep, fake, users)
    common.clear_usage(dep, [a.account_id for a in accounts])
    connect_s = time.time() - t0
    set_wait_scale(dep.endpoint_url, 1)
    saved_cfg = fake.get_config()
    fake.config(processing_seconds={**saved_cfg["processing_seconds"], "IMAGE": image_processing_s})
    fake.clear_calls()
    publisher = common.function_name(dep, "PublisherFunction")
    lam = dep.client("lambda")
    if publisher_concurrency:  # the emulator then throttles (TooManyRequestsException) like Lambda at a cap
        lam.put_function_concurrency(FunctionName=publisher, ReservedConcurrentExecutions=publisher_concurrency)
    if lead_s is None:  # time one submission (and its Prepare) to size the lead
        probe = time.time()
        api.submit_post(dep, {"account_id": accounts[0].account_id, "kind": "image", "caption": "burst probe",
                              "publish_at": datetime.fromtimestamp(time.time() + 3600, UTC).strftime(
                                  "%Y-%m-%dT%H:%M:%SZ"),
                              "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=1)}]})
        per = time.time() - probe
        # the emulator serialises much of a submission (the CLI's checks, StartExecution, the Prepare):
        # size the lead as if submissions did not overlap, with half again as margin
        lead_s = max(60.0, n_posts * per * 1.5 + 40)
        common.stop_running_executions(dep)
    publish_at = math.ceil(time.time() + lead_s)
    at_iso = datetime.fromtimestamp(publish_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests = [
        {"account_id": accounts[i % n_accounts].account_id, "kind": "image", "publish_at": at_iso,
         "caption": f"burst {run_id} #{i}", "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=i)}]}
        for i in range(n_posts)
    ]
    start_ms = int(time.time() * 1000) - 2000
    sampler = Sampler(dep)
    sampler.start()
    t_submit = time.time()
    with ThreadPoolExecutor(max_workers=submit_threads) as pool:
        subs = list(pool.map(lambda r: api.submit_post(dep, r), requests))
    submit_s = time.time() - t_submit
    submitted_before = time.time() < publish_at
    evicted = False
    if cold:
        # a 9 o'clock burst meets no warm environment: once the Prepares are done, a configuration update
        # (the description) makes the emulator drop the publisher's environments, as it makes Lambda do
        time.sleep(max(0.0, min(10.0, publish_at - time.time() - 10)))
        description = lam.get_function_configuration(FunctionName=publisher).get("Description", "")
        lam.update_function_configuration(FunctionName=publisher, Description=f"{description} ")
        lam.update_function_configuration(FunctionName=publisher, Description=description)
        evicted = True
    sfn = dep.client("stepfunctions")
    try:
        deadline = publish_at + max(600, n_posts * 3)
        while time.time() < deadline:
            time.sleep(5)
            if sampler.samples and sampler.samples[-1][0] > publish_at and sampler.samples[-1][1] == 0:
                break
        sampler.stop.set()
        sampler.join()
        statuses: dict[str, int] = {}
        histories = []
        with ThreadPoolExecutor(max_workers=4) as pool:
            descs = list(pool.map(lambda s: sfn.describe_execution(executionArn=s.execution_arn), subs))
            histories = list(pool.map(lambda s: common.history(dep, s.execution_arn), subs))
        for d in descs:
            statuses[d["status"]] = statuses.get(d["status"], 0) + 1
    finally:
        fake.config(processing_seconds=saved_cfg["processing_seconds"])
        if publisher_concurrency:
            lam.delete_function_concurrency(FunctionName=publisher)
    fake_offset = float(fake.http.get("/_fake/clock").json().get("offset", 0.0))  # the fake's clock - real time
    calls = [c for c in fake.calls() if c["host"] == IG_HOST]
    published = [c for c in calls if c["route"].endswith("/media_publish") and c["status"] == 200]
    lateness = [c["time"] - fake_offset - publish_at for c in published]
    # no fault is injected: any error answer is Instagram refusing (a rate limit, the publishing quota)
    throttles = [c for c in calls if not (isinstance(c["status"], int) and c["status"] < 400)]
    entered: dict[str, int] = {}
    transitions = lambda_scheduled = put_events = task_failed = 0
    for events in histories:
        for e in events:
            t = e["type"]
            if t.endswith("StateEntered"):
                transitions += 1
                name = e["stateEnteredEventDetails"]["name"]
                entered[name] = entered.get(name, 0) + 1
            elif t == "TaskScheduled" and e["taskScheduledEventDetails"].get("resourceType") != "lambda":
                put_events += 1  # EmitPostPublished / EmitPostFailed (events:putEvents)
            elif t in ("TaskScheduled", "LambdaFunctionScheduled"):
                lambda_scheduled += 1
            elif t in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut"):
                task_failed += 1
    task_states = sum(n for s, n in entered.items() if s in ("Prepare", "CreateContainers", "CheckContainers",
                                                             "Publish", "RecordFailure", "RecordUnexpected"))
    invs = _invocations(dep, publisher, start_ms)
    aws_requests: dict[str, int] = {}
    for i in invs:
        for k, n in i["aws_requests"].items():
            aws_requests[k] = aws_requests.get(k, 0) + n
    m = {"state_transitions": transitions, "lambda_invocations": lambda_scheduled, "aws_requests": aws_requests,
         "eventbridge_put_events": put_events,
         "_durations": [(i["billed_ms"], i["memory_mb"]) for i in invs if "billed_ms" in i],
         "_log_bytes": sum(i["log_bytes"] for i in invs)}
    breakdown = posts.cost_per_post(dep, m, post_item_bytes=1100)
    # cost_per_post counts one X-Ray trace; the burst has one per execution
    cost_1000 = (sum(breakdown.values()) - breakdown["xray"]) * 1000 / n_posts + PRICES["xray_trace"] * 1000
    running_after = [n for t, n in sampler.samples if t >= publish_at]
    after = [i for i in invs if i.get("end", 0) >= publish_at * 1000 and "billed_ms" in i]
    durations = [i["billed_ms"] / 1000 for i in after]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": f"make burst BURST_ARGS='--posts {n_posts} --accounts {n_accounts}"
                   + (f" --publisher-concurrency {publisher_concurrency}" if publisher_concurrency else "") + "'",
        "posts": n_posts,
        "accounts": n_accounts,
        "image_processing_s": image_processing_s,
        "publisher_concurrency": publisher_concurrency or "unbounded (the emulator's account cap)",
        "lead_s": round(lead_s, 1),
        "submit_s": round(submit_s, 1),
        "submitted_before_publish_at": submitted_before,
        "warm_environments_evicted_before_publish_at": evicted,
        "connect_s": round(connect_s, 1),
        "executions": statuses,
        "published_at_fake": len(published),
        "lateness_s": {"p50": round(_pct(lateness, 50), 1), "p95": round(_pct(lateness, 95), 1),
                       "max": round(max(lateness), 1), "min": round(min(lateness), 1)} if lateness else None,
        "last_publish_after_publish_at_s": round(max(lateness), 1) if lateness else None,
        "instagram_calls": len(calls),
        "instagram_throttles": len(throttles),
        "quota_waits": sum(n for s, n in entered.items() if s in QUOTA_STATES),
        "wait_for_processing": entered.get("WaitForProcessing", 0),
        "lambda_task_errors": task_failed,
        "lambda_task_retries": max(0, lambda_scheduled - task_states),
        "states_entered": dict(sorted(entered.items())),
        "peak_running_executions_after_publish_at": max(running_after, default=0),
        "peak_publisher_invocations_in_progress": _peak_concurrency(invs),
        "publisher_invocations_logged": len(invs),
        "publisher_invocations_after_publish_at": {
            "count": len(after), "cold_starts": sum(1 for i in after if i.get("cold")),
            "duration_s_p50": round(_pct(durations, 50), 2) if durations else None,
            "duration_s_max": round(max(durations), 2) if durations else None},
        "cost_per_1000_usd": round(cost_1000, 4),
        "prices_date": PRICES_DATE,
    }


def table(r: dict[str, Any]) -> str:
    lat = r["lateness_s"] or {}
    return "\n".join([
        f"igpub burst - {r['date']} - {r['posts']} image posts over {r['accounts']} accounts, one publish_at, "
        f"image processing {r['image_processing_s']} s at the fake, real waits",
        "",
        f"  submitted in {r['submit_s']} s, publish_at {r['lead_s']} s after the start"
        f" ({'all submitted before it' if r['submitted_before_publish_at'] else 'NOT all submitted before it'}"
        f"{'; warm environments evicted before it' if r['warm_environments_evicted_before_publish_at'] else ''})",
        f"  executions                       {r['executions']}",
        f"  published (media_publish 200)    {r['published_at_fake']}",
        f"  lateness p50 / p95 / max         {lat.get('p50')} / {lat.get('p95')} / {lat.get('max')} s"
        f"   (min {lat.get('min')} s: one {r['image_processing_s']} s processing + a 5 s poll)",
        f"  Instagram error answers / throttles (must be 0)  {r['instagram_throttles']}",
        f"  quota / rate-limit waits         {r['quota_waits']}",
        f"  WaitForProcessing entered        {r['wait_for_processing']}",
        f"  Lambda task errors / retries     {r['lambda_task_errors']} / {r['lambda_task_retries']}",
        f"  peak running executions after publish_at   {r['peak_running_executions_after_publish_at']}",
        f"  peak publisher invocations in progress     {r['peak_publisher_invocations_in_progress']}",
        "  publisher invocations after publish_at     {count}, {cold_starts} cold starts, duration p50 "
        "{duration_s_p50} s, max {duration_s_max} s".format(**r["publisher_invocations_after_publish_at"]),
        f"  cost per 1,000 posts             ${r['cost_per_1000_usd']} (prices of {r['prices_date']})",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.split("\n")[0])
    # the most this 2-core machine holds without timeouts and retries (README); 1,000 over 100 needs more cores
    p.add_argument("--posts", type=int, default=100)
    p.add_argument("--accounts", type=int, default=10)
    p.add_argument("--lead-s", type=float, default=None, help="publish_at this long after the start")
    p.add_argument("--image-processing-s", type=float, default=3.0)
    p.add_argument("--publisher-concurrency", type=int, default=None,
                   help="cap the publisher's concurrency in the emulator for the run (ReservedConcurrentExecutions)")
    p.add_argument("--warm", action="store_true",
                   help="keep the environments the Prepares warmed (default: evict them before publish_at)")
    p.add_argument("--json", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.posts / args.accounts > 25:
        p.error("more than 25 posts per account would exceed Instagram's 100 posts per 24 h over repeated runs")
    dep, fake = common.local_stack()
    logger.setLevel("WARNING")
    r = run(dep, fake, n_posts=args.posts, n_accounts=args.accounts, lead_s=args.lead_s,
            image_processing_s=args.image_processing_s, publisher_concurrency=args.publisher_concurrency,
            cold=not args.warm)
    args.json.write_text(json.dumps(r, indent=2) + "\n")
    print(table(r))
    print(f"\n(wrote {args.json.name})")
    return 0 if r["published_at_fake"] == r["posts"] and r["instagram_throttles"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
