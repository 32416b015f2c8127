"""Posts: upload media, submit a post (after the checks), follow it to its end, publish many, list them."""

from __future__ import annotations

import json
import mimetypes
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from igpub.publishing.errors import RequestInvalid
from igpub.publishing.request import PostRequest, parse_request
from igpub.repositories.posts import FINAL, PostRecord
from igpub_cli.api.checks import preflight
from igpub_cli.api.deps import Submission, execution_arn, posts_repo
from igpub_cli.api.uploads import media_file_problems
from igpub_cli.deployment import Deployment

Progress = Callable[[str], None]


def record_dict(rec: PostRecord) -> dict[str, Any]:
    """The post record as JSON-ready data, the request as an object (it is stored as a string)."""
    data = rec.model_dump(mode="json")
    try:
        data["request"] = json.loads(rec.request)
    except ValueError:
        pass
    return data


def list_posts(dep: Deployment, *, account_id: str | None = None, limit: int = 20) -> list[PostRecord]:
    return posts_repo(dep).recent(account_id=account_id, limit=limit)


def upload_media(dep: Deployment, path: Path, *, prefix: str, kind: str = "image", fit: str = "pad") -> str:
    """Upload a local file to the media bucket after checking it (igpub prepares what needs it); returns its key."""
    problems = media_file_problems(path, kind, fit=fit)
    if problems:
        raise RequestInvalid(problems)
    data = path.read_bytes()
    key = f"{prefix}/{path.name}"
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    dep.client("s3").put_object(Bucket=dep.output("MediaBucketName"), Key=key, Body=data, ContentType=content_type)
    return key


def submit_post(dep: Deployment, request: PostRequest | dict[str, Any]) -> Submission:
    """Validate and start the execution. ``RequestInvalid`` means nothing started and nothing was
    recorded: the request breaks a rule, or ``preflight`` refused the account, the hashtag pool or the time."""
    data = request.model_dump(mode="json", exclude_none=True) if isinstance(request, PostRequest) else request
    req = parse_request(data, allow_http=dep.local)
    preflight(dep, account_id=req.account_id, hashtag_pool=req.hashtag_pool)
    post_id = req.client_post_id or uuid.uuid4().hex
    sfn = dep.client("stepfunctions")
    payload = {"post_id": post_id, "request": req.model_dump(mode="json", exclude_none=True)}
    try:
        resp = sfn.start_execution(
            stateMachineArn=dep.output("PublishStateMachineArn"), name=post_id, input=json.dumps(payload)
        )
        arn = resp["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        # the same post submitted again: follow the execution that owns it now (after a reschedule that is
        # not the first one, which was stopped)
        rec = posts_repo(dep).get(post_id)
        arn = rec.execution_id if rec is not None else execution_arn(dep, post_id)
    return Submission(post_id=post_id, execution_arn=arn)


def _describe(event: dict[str, Any]) -> str | None:
    kind = event.get("type", "")
    if kind.startswith("Choice"):  # routing only; the outcome line already says where it goes
        return None
    if kind.endswith("StateEntered"):
        name = event["stateEnteredEventDetails"]["name"]
        return None if name == "FirstComment" else f"-> {name}"  # said on exit, only when there is one
    if kind.endswith("StateExited"):
        details = event.get("stateExitedEventDetails", {})
        try:
            out = json.loads(details.get("output") or "{}").get("outcome") or {}
        except ValueError:
            out = {}
        if details.get("name") == "FirstComment" and out:  # a post without a first comment says nothing here
            status = out.get("first_comment_status")
            return None if status in (None, "none") else f"-> FirstComment: {status}"
        if details.get("name") in ("Prepare", "CreateContainers", "CheckContainers", "Publish") and out:
            extra = f" (wait {out['wait_s']} s)" if "wait_s" in out and out.get("status") != "published" else ""
            return f"   {details['name']}: {out.get('status')}{extra}"
    return None  # ExecutionFailed: its cause is the record's failure_reason, which the caller reports once


def watch_post(
    dep: Deployment,
    sub: Submission,
    *,
    on_progress: Progress | None = None,
    poll_s: float = 0.5,
    timeout_s: float = 3600,
) -> PostRecord:
    """Follow the execution until the post is PUBLISHED or FAILED; report each step."""
    sfn = dep.client("stepfunctions")
    posts = posts_repo(dep)
    seen = 0
    deadline = time.monotonic() + timeout_s
    while True:
        # the status first, then the history: once the status is final, the history read after it is complete
        status = sfn.describe_execution(executionArn=sub.execution_arn)["status"]
        events = sfn.get_execution_history(executionArn=sub.execution_arn, maxResults=1000)["events"]
        for event in events[seen:]:
            line = _describe(event)
            if line and on_progress:
                on_progress(line)
        seen = len(events)
        if status != "RUNNING":
            rec = posts.get(sub.post_id)
            if rec is None:
                raise RuntimeError(f"execution {sub.execution_arn} ended {status} without a post record")
            if rec.status in FINAL or status != "SUCCEEDED":
                return rec
        if time.monotonic() > deadline:
            raise TimeoutError(f"post {sub.post_id} did not finish within {timeout_s} s")
        time.sleep(poll_s)


def publish_many(
    dep: Deployment,
    requests: list[dict[str, Any]],
    *,
    max_in_flight: int = 8,
    timeout_s: float = 3600,
    on_done: Callable[[PostRecord], None] | None = None,
    on_submitted: Callable[[int, Submission], None] | None = None,
) -> list[PostRecord]:
    """Publish many posts, keeping at most ``max_in_flight`` executions running at once; returns
    the final records in the order of ``requests``. Check them first with ``check_requests``: a refused
    request raises ``RequestInvalid`` when its turn comes, after the ones before it started."""
    sfn = dep.client("stepfunctions")
    posts = posts_repo(dep)
    pending = list(enumerate(requests))
    running: dict[int, Submission] = {}
    done: dict[int, PostRecord] = {}
    deadline = time.monotonic() + timeout_s
    while pending or running:
        while pending and len(running) < max_in_flight:
            i, request = pending.pop(0)
            running[i] = submit_post(dep, request)
            if on_submitted:
                on_submitted(i, running[i])
        time.sleep(0.5)
        for i, sub in list(running.items()):
            if sfn.describe_execution(executionArn=sub.execution_arn)["status"] == "RUNNING":
                continue
            rec = posts.get(sub.post_id)
            if rec is None:
                raise RuntimeError(f"execution {sub.execution_arn} ended without a post record")
            done[i] = rec
            del running[i]
            if on_done:
                on_done(rec)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(running) + len(pending)} posts did not finish within {timeout_s} s")
    return [done[i] for i in range(len(requests))]


def publish_post(
    dep: Deployment,
    request: PostRequest | dict[str, Any],
    *,
    on_progress: Progress | None = None,
    timeout_s: float = 3600,
) -> PostRecord:
    return watch_post(dep, submit_post(dep, request), on_progress=on_progress, timeout_s=timeout_s)
