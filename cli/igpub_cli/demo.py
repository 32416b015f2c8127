"""`make demo`: the main job on the local stack, with visible progress.

Connects the fake Instagram's demo account through the real OAuth flow (API Gateway -> Lambda ->
the fake's consent page -> callback -> KMS -> DynamoDB), then publishes an image, a carousel of
three images (one uploaded to the media bucket, handed to Instagram as a presigned URL) and a Reel
that takes 15 s to process (the Step Functions Wait loop runs for real), printing each permalink
as `permalink: URL`. The image gets a first comment (posted by the state machine right after
publishing) and, at the end, its insights are collected as the schedule does an hour after
publishing (the fake's clock is moved forward one hour).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from igpub_cli import api
from igpub_cli.api.engagement import insights_rows
from igpub_cli.deployment import Deployment
from igpub_cli.hashtags import repo as hashtag_repo
from igpub_cli.local import FakeInstagram, set_wait_scale, walk_connect_flow

DEMO_USER = "igpub_demo"
DEMO_HASHTAGS = [
    "travel",
    "sunrise",
    "sea",
    "morning",
    "beach",
    "nature",
    "photography",
    "wanderlust",
    "ocean",
    "sky",
    "coast",
    "explore",
    "goldenhour",
    "landscape",
    "seaside",
    "horizon",
    "calm",
    "earlybird",
    "waves",
    "light",
]
REEL_PROCESSING_S = 15


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def say(text: str) -> None:
    print(text, flush=True)


def main() -> int:
    dep = Deployment.load()
    if not dep.local or not dep.fake_url:
        print("make demo runs on the local stack only (make up)", file=sys.stderr)
        return 2
    fake = FakeInstagram(dep.fake_url)
    # real Wait states: the Reel's status is polled every 5 s until the fake finishes processing it
    set_wait_scale(dep.endpoint_url or "", 1)
    fake.config(processing_seconds={**fake.get_config()["processing_seconds"], "REELS": REEL_PROCESSING_S})

    step("1/5 Connect an Instagram professional account (a single-use invite link, Instagram Login, OAuth)")
    resp = walk_connect_flow(dep, login_as=DEMO_USER, log=say, features="comments,insights")
    if resp.status_code != 200:
        say(f"   the callback answered {resp.status_code}: {resp.text[:300]}")
        return 1
    account = next(a for a in api.list_accounts(dep) if a.username == DEMO_USER)
    say(
        f"   connected @{account.username} (account {account.account_id}); token stored KMS-encrypted, "
        f"expires in {account.days_left(time.time()):.0f} days"
    )

    results: list[tuple[str, Any]] = []

    step("2/5 Publish a single image, with 15 hashtags from the account's pool and a first comment")
    pool = hashtag_repo(dep)
    for i, tag in enumerate(DEMO_HASHTAGS):
        pool.put_tag(
            account.account_id,
            "travel",
            tag,
            score=100 - 3 * i,
            default_score=50,
            source="manual",
            now=int(time.time()),
        )
    say(f"   pool 'travel' holds {len(DEMO_HASHTAGS)} hashtags")
    rec = api.publish_post(
        dep,
        {
            "account_id": account.account_id,
            "kind": "image",
            "media": [{"url": fake.cdn("image.jpg", w=1080, h=1350), "alt_text": "A sunrise over the sea"}],
            "caption": "Good morning from igpub #sunrise",
            "hashtag_pool": "travel",
            "first_comment": "Where should we go next? Tell us in the comments.",
        },
        on_progress=say,
    )
    results.append(("image", rec))
    image = rec
    say(f"   caption as published: {rec.caption!r}")
    at_instagram = [c for c in fake.comments(rec.media_id or "") if c["by_owner"]]
    if at_instagram:
        say(f"   first comment {rec.first_comment_status} ({rec.first_comment_id}): {at_instagram[0]['text']!r}")
    else:
        say(f"   first comment {rec.first_comment_status}: {rec.first_comment_reason}")
    say(f"permalink: {rec.permalink}")

    step("3/5 Publish a carousel of three images (one uploaded to the media bucket)")
    photo = httpx.get(fake.cdn("image.jpg", w=1080, h=1080, seed=7), timeout=10).content
    key = f"uploads/demo/{int(time.time())}-square.jpg"
    dep.client("s3").put_object(Bucket=dep.output("MediaBucketName"), Key=key, Body=photo, ContentType="image/jpeg")
    say(f"   uploaded s3://{dep.output('MediaBucketName')}/{key}")
    rec = api.publish_post(
        dep,
        {
            "account_id": account.account_id,
            "kind": "carousel",
            "media": [
                {"key": key},
                {"url": fake.cdn("image.jpg", w=1080, h=1080, seed=8)},
                {"url": fake.cdn("image.jpg", w=1080, h=1080, seed=9)},
            ],
            "caption": "Three views, one post",
        },
        on_progress=say,
    )
    results.append(("carousel", rec))
    say(f"permalink: {rec.permalink}")

    step(f"4/5 Publish a Reel (the fake takes {REEL_PROCESSING_S} s to process it; igpub polls every 5 s)")
    rec = api.publish_post(
        dep,
        {
            "account_id": account.account_id,
            "kind": "reel",
            "media": [{"url": fake.cdn("video.mp4", seconds=12, mb=2)}],
            "caption": "A short Reel",
            "share_to_feed": True,
        },
        on_progress=say,
    )
    results.append(("reel", rec))
    say(f"permalink: {rec.permalink}")

    step("5/5 The image's insights, one hour after publishing (the fake's clock moves 1 h ahead)")
    fake.advance(3600)
    dep.table("PostsTableName").update_item(  # igpub's schedule runs on real time: as if the hour had passed
        Key={"post_id": image.post_id}, UpdateExpression="SET insights_due_at = :t",
        ExpressionAttributeValues={":t": int(time.time())})
    report = api.collect_due_insights(dep)
    say(f"   scheduled collection: {report['collected']} post(s) collected")
    columns, rows, notes = insights_rows(api.post_insights(dep, image.post_id))
    say("   " + "  ".join(f"{c.lstrip('>'):>12}" if i else f"{c:<20}" for i, c in enumerate(columns)))
    for row in rows:
        say("   " + "  ".join(f"{v:>12}" if i else f"{v:<20}" for i, v in enumerate(row)))
    for note in notes:
        say(f"   {note}")
    ok_comment = image.first_comment_status == "posted"

    step("Summary")
    ok = True
    for kind, rec in results:
        say(f"   {kind:<9} {rec.status:<10} {rec.permalink or rec.failure_reason}")
        ok = ok and rec.status == "published"
    say(f"   first comment on the image: {image.first_comment_status}")
    say("\nThe stack is still running: try `.venv/bin/igpub accounts`, `.venv/bin/igpub posts`, "
        f"`.venv/bin/igpub insights {image.post_id}`, `.venv/bin/igpub comments list {image.post_id}`; "
        "`make down` stops it.")
    return 0 if ok and ok_comment else 1


if __name__ == "__main__":
    sys.exit(main())
