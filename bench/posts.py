"""Per post kind: what one post costs in invocations, transitions, Instagram calls and AWS requests,
how long it waits, and what 1,000 of them cost at list prices.

Each post runs alone through the deployed stack with real Step Functions waits. Counted from:
* the execution history: Lambda invocations (LambdaFunctionScheduled, and TaskScheduled of resource type
  lambda), EventBridge events put by the state machine (the events:putEvents tasks), state
  transitions (every *StateEntered event, as Standard workflows bill them), Wait iterations
  (WaitForProcessing entered);
* the fake Instagram's call log (cleared before the post): Instagram API calls (graph.instagram.com;
  not the media downloads Instagram makes itself), and the time of the media_publish call;
* the fake's containers: when the published container became FINISHED (ready_at, fake clock);
* the publisher's log lines: each invocation logs the AWS requests it sent (``aws_requests``, counted
  by a botocore hook in igpub.repositories.aws), and its REPORT line gives billed duration and memory.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import common
from bench.prices import PRICES
from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram, set_wait_scale

REEL_PROCESSING_S = 30
IG_HOST = "graph.instagram.com"
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def requests_for(fake: FakeInstagram, account: Account, kind: str, n: int) -> dict[str, Any]:
    caption = f"bench {kind} {n} {time.time():.0f}"
    if kind == "image":
        media = [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=n)}]
    elif kind == "carousel":
        media = [{"url": fake.cdn("image.jpg", w=1080, h=1080, seed=n * 10 + i)} for i in range(3)]
    else:
        media = [{"url": fake.cdn("video.mp4", seconds=10, mb=1, seed=n)}]
    return {"account_id": account.account_id, "kind": kind, "caption": caption, "media": media}


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size (attribute names plus values), from a low-level item."""

    def value(v: dict[str, Any]) -> int:
        (t, x), = v.items()
        if t == "S":
            return len(x.encode())
        if t == "N":
            return math.ceil(len(x.lstrip("-").replace(".", "")) / 2) + 1
        if t == "B":
            return len(x)
        if t in ("BOOL", "NULL"):
            return 1
        if t == "L":
            return 3 + sum(1 + value(e) for e in x)
        if t == "M":
            return 3 + sum(len(k.encode()) + 1 + value(e) for k, e in x.items())
        if t in ("SS", "NS", "BS"):
            return sum(len(str(e)) for e in x)
        return 0

    return sum(len(k.encode()) + value(v) for k, v in item.items())


def cost_per_post(dep: Deployment, m: dict[str, Any], post_item_bytes: int) -> dict[str, float]:
    """USD for one post, by service (see the README for the assumptions)."""
    tables = {dep.output("PostsTableName"): "posts"}
    wru = rru = 0.0
    for key, n in m["aws_requests"].items():
        if not key.startswith("dynamodb."):
            continue
        op, _, table = key[len("dynamodb."):].partition("@")
        if tables.get(table) == "posts":
            # the post record; its GSI by-account (projection ALL) is written with every write
            w, r = math.ceil(post_item_bytes / 1024) * 2, math.ceil(post_item_bytes / 4096)
        else:  # accounts, usage counters, idempotency records: each well under 1 KB
            w, r = 1, 1
        if op in WRITES:
            wru += n * w * (2 if op == "TransactWriteItems" else 1)
        elif op in READS:
            rru += n * r  # strongly consistent (igpub reads with ConsistentRead) up to 4 KB: 1 RRU
    kms = sum(n for k, n in m["aws_requests"].items() if k.startswith("kms."))
    s3_get = sum(n for k, n in m["aws_requests"].items() if k in ("s3.GetObject", "s3.HeadObject"))
    gb_s = sum(ms / 1000 * mem / 1024 for ms, mem in m["_durations"])
    return {
        "step_functions": m["state_transitions"] * PRICES["sfn_state_transition"],
        "lambda": m["lambda_invocations"] * PRICES["lambda_request"] + gb_s * PRICES["lambda_gb_second"],
        "dynamodb": wru * PRICES["dynamodb_wru"] + rru * PRICES["dynamodb_rru"],
        "kms": kms * PRICES["kms_request"],
        "s3": s3_get * PRICES["s3_get"],
        "cloudwatch_logs": m["_log_bytes"] / 1e9 * PRICES["logs_ingest_gb"],
        "xray": PRICES["xray_trace"],  # one trace per execution (TracingMode Active)
        "eventbridge": m["eventbridge_put_events"] * PRICES["eventbridge_event"],  # PostPublished / PostFailed
    }


def measure_post(dep: Deployment, fake: FakeInstagram, request: dict[str, Any], publisher: str) -> dict[str, Any]:
    fake.clear_calls()
    start_ms = int(time.time() * 1000) - 2000
    sub = api.submit_post(dep, request)
    rec = api.watch_post(dep, sub, timeout_s=600, poll_s=0.5)
    events = common.history(dep, sub.execution_arn)
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    tasks = [e.get("taskScheduledEventDetails", {}) for e in events if e["type"] == "TaskScheduled"]
    n_invocations = sum(1 for e in events if e["type"] == "LambdaFunctionScheduled") + sum(
        1 for t in tasks if t.get("resourceType") == "lambda")
    n_put_events = sum(1 for t in tasks if t.get("resource", "").endswith(":::events:putEvents"))  # (before #24)
    calls = [c for c in fake.calls() if c["host"] == IG_HOST]
    containers = {c["id"]: c for c in fake.containers()}
    published = [c for c in calls if c["route"].endswith("/media_publish") and c["status"] == 200]
    delay = None
    container = containers.get(rec.publish_container or "")
    if published and container:
        delay = round(published[-1]["time"] - container["ready_at"], 2)
    invs = common.invocations(dep, publisher, start_ms, sub.post_id, n_invocations)
    aws_requests: dict[str, int] = {}
    for inv in invs:
        for key, n in inv.get("aws_requests", {}).items():
            aws_requests[key] = aws_requests.get(key, 0) + n
    n_put_events += aws_requests.get("eventbridge.PutEvents", 0)  # sent by the publisher (igpub.PostPublished)
    item = dep.client("dynamodb").get_item(TableName=dep.output("PostsTableName"),
                                           Key={"post_id": {"S": sub.post_id}}).get("Item", {})
    m: dict[str, Any] = {
        "status": rec.status,
        "failure_reason": rec.failure_reason,
        "lambda_invocations": n_invocations,
        "eventbridge_put_events": n_put_events,
        "state_transitions": len(entered),
        "wait_iterations": entered.count("WaitForProcessing"),
        "instagram_calls": len(calls),
        "instagram_calls_by_route": _by_route(calls),
        "dynamodb_requests": sum(n for k, n in aws_requests.items() if k.startswith("dynamodb.")),
        "kms_requests": sum(n for k, n in aws_requests.items() if k.startswith("kms.")),
        "s3_requests": sum(n for k, n in aws_requests.items() if k.startswith("s3.")),
        "aws_requests": {k.split("@")[0] + (f"@{_table_label(dep, k)}" if "@" in k else ""): n
                         for k, n in sorted(aws_requests.items())},
        "publish_delay_s": delay,
        "lambda_billed_ms": sum(i["billed_ms"] for i in invs),
        "invocations_with_logs": len(invs),
        "post_item_bytes": _item_size(item),
        "_durations": [(i["billed_ms"], i.get("memory_mb", 512)) for i in invs],
        "_log_bytes": sum(i["log_bytes"] for i in invs),
    }
    # aws_requests keys carry the table's logical name (posts, usage, ...), not the deployed one
    m["aws_requests"] = _merge_labels(m["aws_requests"])
    breakdown = cost_per_post(dep, {**m, "aws_requests": aws_requests}, m["post_item_bytes"])
    m["cost_per_1000_usd"] = round(sum(breakdown.values()) * 1000, 4)
    m["cost_per_1000_by_service_usd"] = {k: round(v * 1000, 5) for k, v in breakdown.items()}
    m["log_bytes"] = m.pop("_log_bytes")
    del m["_durations"]
    return m


def _by_route(calls: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in calls:
        route = "/".join("{id}" if p.isdigit() else p for p in c["route"].split("/"))
        key = f"{c['method']} {route}"
        out[key] = out.get(key, 0) + 1
    return out


_LABELS: dict[str, str] = {}


def _table_label(dep: Deployment, key: str) -> str:
    if not _LABELS:
        for out, name in dep.outputs.items():
            if out.endswith("TableName"):
                _LABELS[name] = out.removesuffix("TableName").lower()
    table = key.partition("@")[2]
    return _LABELS.get(table, table)


def _merge_labels(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))


IN_TASK_POLL_S = 20  # template.yaml's StatusPollInTaskSeconds default


def run(dep: Deployment, fake: FakeInstagram) -> dict[str, Any]:
    """One warm-up image, then one post of each kind, measured."""
    common.stop_running_executions(dep)
    assert dep.endpoint_url
    set_wait_scale(dep.endpoint_url, 1)  # real 5 s waits
    saved = fake.get_config()["processing_seconds"]
    fake.config(processing_seconds={**saved, "IMAGE": 0, "CAROUSEL": 0, "REELS": REEL_PROCESSING_S})
    publisher = common.function_name(dep, "PublisherFunction")
    # the local stack deploys StatusPollInTaskSeconds=0 (its tests make waits instant); measure AWS's default
    lam = dep.client("lambda")
    env = lam.get_function_configuration(FunctionName=publisher).get("Environment", {}).get("Variables", {})
    lam.update_function_configuration(FunctionName=publisher, Environment={"Variables": {
        **env, "IGPUB_STATUS_POLL_IN_TASK_S": str(IN_TASK_POLL_S)}})
    try:
        (account,) = common.connect_users(dep, fake, ["bench_posts"])
        common.clear_usage(dep, [account.account_id])
        warm = api.publish_post(dep, requests_for(fake, account, "image", 0), timeout_s=120)
        if warm.status != "published":
            raise RuntimeError(f"the warm-up post failed: {warm.failure_reason}")
        kinds: dict[str, Any] = {}
        for label, kind in (("image", "image"), ("carousel_of_3", "carousel"),
                            (f"reel_{REEL_PROCESSING_S}s", "reel")):
            kinds[label] = measure_post(dep, fake, requests_for(fake, account, kind, 1), publisher)
        return kinds
    finally:
        fake.config(processing_seconds=saved)
        lam.update_function_configuration(FunctionName=publisher, Environment={"Variables": env})
