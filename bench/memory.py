"""Peak memory (RSS) of each function through a cold start and its heaviest step, and the MemorySize
that gives it 2x headroom.

Each figure is the ``ru_maxrss`` of one fresh interpreter set up like a cold start (``bench.coldstart``:
only the built function, the layer and the runtime's boto3 on the path; the deployed function's
environment; the local stack's endpoints) that imports the handler and then runs:

* PublisherFunction: a carousel of 10 images stored in the media bucket (so prepare reads and checks
  each object), through prepare, create, check and publish, in one process (a warm Lambda would);
* RefresherFunction: one scheduled run over ``due`` (default 1,000) due accounts whose tokens the fake
  really refreshes (KMS decrypt, Instagram call, KMS encrypt, conditional write, per account);
* EngagementFunction: one scheduled run over ``due`` (default 50) published posts due for insights (one real
  image post published through the stack, its record copied; per post: token, Instagram insights call, write);
* WebhooksFunction: a burst of ``deliveries`` (default 100) signed comment deliveries, each a new comment, in
  one process (one warm environment taking them in turn);
* HashtagsFunction, OAuthFunction: their sample events (``events/``): discover, and the OAuth callback.

Lambda's own runtime client (awslambdaric) runs in the same process and is not counted here: it adds a
few MB, which the 2x headroom covers. The recommended size is 2x the peak rounded up to 32 MB, never less
than 128 MB (Lambda's minimum).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

import httpx

from bench import coldstart, common, refresh_bench
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram

HEAVY_EVENTS = {"HashtagsFunction": "hashtags_discover.json", "OAuthFunction": "oauth_callback.json"}


def template_memory() -> dict[str, int]:
    """Each function's MemorySize in template.yaml (its own, else the Globals one)."""
    default, current, out = 128, None, {}
    for line in (coldstart.ROOT / "template.yaml").read_text().splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":"):
            current = line.strip()[:-1]
        if line.strip().startswith("MemorySize:"):
            value = int(line.split(":", 1)[1].split("#")[0].strip())
            if line.startswith("    MemorySize") and current == "Function":
                default = value
            elif current:
                out[current] = value
    return {name: out.get(name, default) for name in coldstart.SAMPLE_EVENTS}


def recommended_mb(peak_kb: int) -> int:
    return max(128, math.ceil(2 * peak_kb / 1024 / 32) * 32)


def _run(dep: Deployment, name: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    layer = coldstart.BUILD / "IgpubLayer" / "python"
    return coldstart.probe("function", [coldstart.BUILD / name, layer, coldstart.runtime_deps()],
                           coldstart.function_env(dep, name), events)


def publisher_carousel(dep: Deployment, fake: FakeInstagram, n: int = 10) -> dict[str, Any]:
    (account,) = common.connect_users(dep, fake, ["bench_memory"])
    common.clear_usage(dep, [account.account_id])
    s3 = dep.client("s3")
    bucket = dep.output("MediaBucketName")
    keys = []
    for i in range(n):
        data = httpx.get(fake.cdn("image.jpg", w=1080, h=1080, seed=900 + i), timeout=30).content
        key = f"bench/memory/{i}.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")
        keys.append(key)
    saved = fake.get_config()["processing_seconds"]
    fake.config(processing_seconds={**saved, "IMAGE": 0, "CAROUSEL": 0})
    post_id = uuid.uuid4().hex[:16]
    base = {"post_id": post_id, "execution_id": f"arn:aws:states:us-east-1:000000000000:execution:bench:{post_id}"}
    request = {"account_id": account.account_id, "kind": "carousel", "caption": "bench memory carousel",
               "media": [{"key": k, "alt_text": f"image {i}"} for i, k in enumerate(keys)]}
    events: list[dict[str, Any]] = [{**base, "step": "prepare", "request": request}, {**base, "step": "create"},
              {**base, "step": "check"}, {**base, "step": "publish"}]
    try:
        r = _run(dep, "PublisherFunction", events)
    finally:
        fake.config(processing_seconds=saved)
    return {**r, "heaviest_step": f"carousel of {n} images from the media bucket: prepare, create, check, publish"}


def refresher_run(dep: Deployment, fake: FakeInstagram, due: int) -> dict[str, Any]:
    settings = refresh_bench._settings(dep)
    due_users = refresh_bench._connect_at_fake(dep, fake, settings, due)
    items = refresh_bench._items(dep, due_users, due, int(time.time()))
    refresh_bench._write(dep, items)
    try:
        r = _run(dep, "RefresherFunction", [coldstart.sample_event("RefresherFunction")])
    finally:
        refresh_bench._delete(dep, [str(i["account_id"]) for i in items])
    return {**r, "heaviest_step": f"one scheduled run over {due:,} due accounts"}


def engagement_run(dep: Deployment, fake: FakeInstagram, due: int = 50) -> dict[str, Any]:
    (account,) = common.connect_users(dep, fake, ["bench_insights"], features="insights")
    common.clear_usage(dep, [account.account_id])
    rec = api.watch_post(dep, api.submit_post(dep, {
        "account_id": account.account_id, "kind": "image", "caption": "bench insights",
        "media": [{"url": fake.cdn("image.jpg", w=1080, h=1080)}]}), timeout_s=300)
    table = dep.table("PostsTableName")
    item = table.get_item(Key={"post_id": rec.post_id})["Item"]
    ids = [f"bench-insights-{uuid.uuid4().hex[:12]}" for _ in range(due)]
    with table.batch_writer() as batch:
        for pid in ids:
            batch.put_item(Item={**item, "post_id": pid, "insights_due_at": int(time.time()) - 1})
    try:
        r = _run(dep, "EngagementFunction", [coldstart.sample_event("EngagementFunction")])
    finally:
        with table.batch_writer() as batch:
            for pid in ids:
                batch.delete_item(Key={"post_id": pid})
    return {**r, "heaviest_step": f"one scheduled run over {due} posts due for insights"}


def webhooks_burst(dep: Deployment, deliveries: int = 100) -> dict[str, Any]:
    sample = coldstart.sample_event("WebhooksFunction")
    body = json.loads(sample["body"])
    events = []
    for _ in range(deliveries):
        body["entry"][0]["changes"][0]["value"]["id"] = str(uuid.uuid4().int)[:17]  # a new comment each time
        events.append(coldstart.signed(dep, sample, json.dumps(body)))
    r = _run(dep, "WebhooksFunction", events)
    return {**r, "results": sorted(set(r["results"])),
            "heaviest_step": f"a burst of {deliveries} signed comment deliveries"}


def measure(dep: Deployment, fake: FakeInstagram, *, cold_rss_kb: dict[str, int] | None = None,
            refresher_due: int = 1000) -> dict[str, Any]:
    heavy: dict[str, dict[str, Any]] = {
        "PublisherFunction": publisher_carousel(dep, fake),
        "RefresherFunction": refresher_run(dep, fake, refresher_due),
        "EngagementFunction": engagement_run(dep, fake),
        "WebhooksFunction": webhooks_burst(dep),
    }
    for name, event in HEAVY_EVENTS.items():
        ev = json.loads((coldstart.EVENTS / event).read_text())
        heavy[name] = {**_run(dep, name, [ev]), "heaviest_step": f"events/{event}"}
    out: dict[str, Any] = {}
    sizes = template_memory()
    for name, r in heavy.items():
        cold = max(r["rss_init_kb"], (cold_rss_kb or {}).get(name, 0))
        peak = max(r["rss_peak_kb"], cold)
        out[name] = {
            "heaviest_step": r["heaviest_step"],
            "results": r["results"],
            "rss_after_init_mb": round(cold / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1),
            "recommended_memory_mb": recommended_mb(peak),
            "template_memory_mb": sizes.get(name),
        }
    return out


if __name__ == "__main__":
    import sys

    from igpub.observability import logger

    logger.setLevel("WARNING")
    dep_, fake_ = common.local_stack()
    print(json.dumps(measure(dep_, fake_, refresher_due=int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
