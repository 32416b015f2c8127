"""igpub for programs: submit a post, follow it to its end, list accounts and posts.

from igpub_cli.api import Deployment, publish_post
record = publish_post(Deployment.load(), {"account_id": "...", "kind": "image",
                                          "media": [{"url": "https://..."}], "caption": "hi"})
print(record.status, record.permalink)
"""

from __future__ import annotations

import json
import mimetypes
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from igpub import invites
from igpub.accounts import Account
from igpub.publishing.errors import RequestInvalid
from igpub.publishing.media_check import HEAD_BYTES
from igpub.publishing.request import PAST_TOLERANCE, PostRequest, infer_media_type, parse_request, schedule_problems
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.hashtags import HashtagRepository
from igpub.repositories.invites import InviteRepository
from igpub.repositories.posts import FINAL, PostRecord, PostRepository
from igpub_cli.deployment import Deployment

__all__ = [
    "PAST_TOLERANCE_MIN",
    "CreatedInvite",
    "Deployment",
    "PostRecord",
    "RequestInvalid",
    "Submission",
    "account_insights",
    "cancel_post",
    "check_files",
    "check_requests",
    "collect_due_insights",
    "comment_on",
    "create_invite",
    "delete_comment",
    "hide_comment",
    "list_accounts",
    "list_comments",
    "list_posts",
    "load_requests",
    "only_active_account",
    "plan_file",
    "post_insights",
    "preflight",
    "publish_many",
    "publish_post",
    "read_request_file",
    "record_dict",
    "refresh_tokens",
    "reply_comment",
    "reschedule_post",
    "set_comments_enabled",
    "submit_post",
    "unhide_comment",
    "upload_media",
    "watch_post",
]

Progress = Callable[[str], None]
PAST_TOLERANCE_MIN = PAST_TOLERANCE.seconds // 60


@dataclass(frozen=True)
class Submission:
    post_id: str
    execution_arn: str


def accounts_repo(dep: Deployment) -> AccountRepository:
    return AccountRepository(dep.output("AccountsTableName"), table=dep.table("AccountsTableName"))


def posts_repo(dep: Deployment) -> PostRepository:
    return PostRepository(dep.output("PostsTableName"), table=dep.table("PostsTableName"))


@dataclass(frozen=True)
class CreatedInvite:
    url: str  # send it to the person who connects; it works once, until expires_at
    label: str
    flow: str
    expires_at: int


def create_invite(
    dep: Deployment, *, label: str = "", facebook: bool = False, valid_for_s: int = invites.DEFAULT_TTL_S,
    now: int | None = None,
) -> CreatedInvite:
    """A single-use, expiring link that connects one Instagram account (or, with ``facebook``, Facebook
    Login for hashtag discovery). Raises ValueError for a bad label or lifetime."""
    repo = InviteRepository(dep.output("InvitesTableName"), table=dep.table("InvitesTableName"))
    flow = "facebook" if facebook else "instagram"
    issued = invites.issue(repo, flow=flow, label=label, now=int(time.time()) if now is None else now,
                           ttl_s=valid_for_s)
    base = dep.output("FacebookConnectUrl" if facebook else "ConnectUrl")
    return CreatedInvite(f"{base}?invite={issued.invite}", issued.record.label, flow, issued.record.expires_at)


def list_accounts(dep: Deployment) -> list[Account]:
    return accounts_repo(dep).all()


def only_active_account(dep: Deployment) -> str:
    """The one active account of the deployment; refused (``RequestInvalid``) when there are several or none."""
    accounts = [a for a in list_accounts(dep) if a.status == "active"]
    if not accounts:
        raise RequestInvalid(["no active account: connect one first (igpub connect), then name it with --account"])
    if len(accounts) > 1:
        raise RequestInvalid([
            "name the account with --account (active: "
            + ", ".join(f"@{a.username}={a.account_id}" for a in accounts) + ")"
        ])
    return accounts[0].account_id


def _account_problems(dep: Deployment, account_id: str) -> list[str]:
    account = accounts_repo(dep).get(account_id)
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


def _parse_time(value: str | datetime) -> datetime | str:
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
        at = _parse_time(publish_at)
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


def plan_file(path: Path, *, kind: str = "image", fit: str = "pad", first: tuple[int, int] | None = None,
              index: int = 0) -> tuple[list[str], list[str], tuple[int, int] | None]:
    """What igpub will do to a local file before Instagram sees it (igpub.media.plan, from its first bytes):
    (work, problems, output size when known). Formats, ratios, sizes and codecs igpub fixes are work, not
    problems; ``fit="refuse"`` keeps an out-of-range ratio a problem."""
    from igpub.media import plan
    from igpub.publishing.kinds import KINDS

    check_files([path])
    spec = KINDS[kind]  # type: ignore[index]
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if plan.image_facts(head).format in plan.IMAGE_FORMATS:
        p = plan.plan_image(head, size, role=spec.image_role, fit=fit, first=first if index else None,  # type: ignore[arg-type]
                            name=path.name)
    elif plan.video_facts(head).format != "unknown" or infer_media_type(path.name) == "video":
        p = plan.plan_video(head, size, role=spec.video_role, name=path.name)
    else:
        p = plan.ItemPlan([], [f"{path.name} is neither an image nor a video igpub can read"])
    return p.work, p.problems, p.out


def upload_media(dep: Deployment, path: Path, *, prefix: str, kind: str = "image", fit: str = "pad") -> str:
    """Upload a local file to the media bucket after checking it (igpub prepares what needs it); returns its key."""
    _, problems, _ = plan_file(path, kind=kind, fit=fit)
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
        arn = execution_arn(dep, post_id)
    return Submission(post_id=post_id, execution_arn=arn)


def execution_arn(dep: Deployment, name: str) -> str:
    return dep.output("PublishStateMachineArn").replace(":stateMachine:", ":execution:") + f":{name}"


def _describe(event: dict[str, Any]) -> str | None:
    kind = event.get("type", "")
    if kind.startswith("Choice"):  # routing only; the outcome line already says where it goes
        return None
    if kind.endswith("StateEntered"):
        return f"-> {event['stateEnteredEventDetails']['name']}"
    if kind.endswith("StateExited"):
        details = event.get("stateExitedEventDetails", {})
        try:
            out = json.loads(details.get("output") or "{}").get("outcome") or {}
        except ValueError:
            out = {}
        if details.get("name") in ("Prepare", "CreateContainers", "CheckContainers", "Publish", "FirstComment") and out:
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
        events = sfn.get_execution_history(executionArn=sub.execution_arn, maxResults=1000)["events"]
        for event in events[seen:]:
            line = _describe(event)
            if line and on_progress:
                on_progress(line)
        seen = len(events)
        status = sfn.describe_execution(executionArn=sub.execution_arn)["status"]
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


def refresh_tokens(
    dep: Deployment, account_id: str | None = None, *, ignore_min_age: bool = False,
) -> dict[str, Any]:
    """Run the deployed refresher now and return its report: every due token, or one account (due or not).

    A run lasts at most the function's timeout (15 min), so the call waits that long at most.
    """
    from botocore.config import Config

    payload: dict[str, Any] = {}
    if account_id:
        payload = {"account_id": account_id, "ignore_min_age": ignore_min_age}
    config = Config(read_timeout=930, connect_timeout=10, retries={"max_attempts": 1})
    client = dep.client("lambda", config=config)
    resp = client.invoke(FunctionName=dep.output("RefresherFunctionName"), InvocationType="RequestResponse",
                         Payload=json.dumps(payload).encode())
    body = json.loads(resp["Payload"].read() or b"null")
    if resp.get("FunctionError"):
        message = body.get("errorMessage") if isinstance(body, dict) else body
        raise RuntimeError(f"the refresher failed: {message}")
    result: dict[str, Any] = body
    return result


# ------------------------------------------------------------------------------- cancel, reschedule
def _not_scheduled(rec: PostRecord) -> str:
    """Why a post can no longer be cancelled or moved."""
    if rec.status == "published":
        return f"post {rec.post_id} is already published ({rec.permalink or rec.media_id})"
    if rec.status == "failed":
        return f"post {rec.post_id} already failed: {rec.failure_reason}"
    if rec.status == "cancelled":
        return f"post {rec.post_id} is already cancelled"
    return (f"publishing of post {rec.post_id} has begun (status {rec.status} since {rec.updated_at[:19]} UTC): "
            "igpub no longer cancels or moves it, to never leave half a post on Instagram")


def _get_post(dep: Deployment, post_id: str) -> PostRecord:
    rec = posts_repo(dep).get(post_id)
    if rec is None:
        raise RequestInvalid([f"no post {post_id} (see igpub posts); a post just submitted is recorded within seconds"])
    return rec


def _stop(dep: Deployment, execution_id: str, cause: str) -> None:
    sfn = dep.client("stepfunctions")
    try:
        sfn.stop_execution(executionArn=execution_id, cause=cause)
    except (sfn.exceptions.ExecutionDoesNotExist, sfn.exceptions.ClientError):
        pass  # already ended: the claim after the wait refuses a cancelled or moved post anyway


def cancel_post(dep: Deployment, post_id: str, *, stop_execution: bool = True) -> PostRecord:
    """Cancel a scheduled post: refused (``RequestInvalid``) once publishing has begun. Race-free: the
    record turns cancelled only while no execution has claimed it for publishing, and an execution claims
    it only while it is not cancelled. Then the waiting execution is stopped (``stop_execution=False``
    leaves it to find the post cancelled when its wait ends)."""
    rec = _get_post(dep, post_id)
    done = posts_repo(dep).cancel(post_id, time.time()) if rec.status == "scheduled" else None
    if done is None:
        raise RequestInvalid([_not_scheduled(_get_post(dep, post_id))])
    if stop_execution:
        _stop(dep, done.execution_id, "cancelled with igpub cancel")
    return done


def reschedule_post(
    dep: Deployment, post_id: str, publish_at: str | datetime, *, stop_execution: bool = True
) -> Submission:
    """Move a scheduled (or cancelled) post to ``publish_at``: a new execution for the same post (never
    twice: the post belongs to one execution at a time, and the old one can no longer claim it). Refused
    (``RequestInvalid``) once publishing has begun, or for a time more than PAST_TOLERANCE_MIN minutes back."""
    rec = _get_post(dep, post_id)
    if rec.status not in ("scheduled", "cancelled"):
        raise RequestInvalid([_not_scheduled(rec)])
    at = _parse_time(publish_at)
    if isinstance(at, str):
        raise RequestInvalid([f"publish_at {at!r} is not an ISO 8601 time, e.g. 2026-12-01T09:00:00+01:00"])
    problems = schedule_problems(at, datetime.now(UTC))
    if problems:
        raise RequestInvalid(problems)
    data = {k: v for k, v in json.loads(rec.request).items() if v is not None}
    old_at = data.get("publish_at")
    data["publish_at"] = at.isoformat()
    req = parse_request(data, allow_http=dep.local)
    request = req.model_dump(mode="json", exclude_none=True)
    moves = sum(1 for h in rec.history if h.get("action") == "reschedule")
    name = f"{post_id[:64]}-r{moves + 1}"
    arn = execution_arn(dep, name)
    moved = posts_repo(dep).reschedule(
        post_id, time.time(), old_execution_id=rec.execution_id, new_execution_id=arn,
        request=json.dumps(req.model_dump(mode="json"), sort_keys=True, default=str),
        from_at=old_at, to_at=request["publish_at"],
    )
    if moved is None:
        raise RequestInvalid([_not_scheduled(_get_post(dep, post_id))])
    if stop_execution:
        _stop(dep, rec.execution_id, f"rescheduled with igpub reschedule to {request['publish_at']}")
    resp = dep.client("stepfunctions").start_execution(
        stateMachineArn=dep.output("PublishStateMachineArn"), name=name,
        input=json.dumps({"post_id": post_id, "request": request}),
    )
    return Submission(post_id=post_id, execution_arn=resp["executionArn"])


from igpub_cli.engagement import (  # noqa: E402 - re-exported for programs (the module imports this one)
    account_insights,
    collect_due_insights,
    comment_on,
    delete_comment,
    hide_comment,
    list_comments,
    post_insights,
    reply_comment,
    set_comments_enabled,
    unhide_comment,
)
