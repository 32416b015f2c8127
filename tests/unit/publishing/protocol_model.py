"""The world of the publish protocol's model-based test (tests/unit/publishing/test_protocol_model.py).

Everything is real but the transport and the clock:

* the tasks are ``functions/publisher/app.py``'s own dispatch (``_run`` with a ``TaskEvent``), the real
  ``igpub.publishing`` modules, ``InstagramClient`` and the repositories;
* Step Functions is an interpreter of ``statemachine/publish.asl.json`` itself: Task Parameters, ResultPath,
  Retry (ErrorEquals, MaxAttempts, IntervalSeconds), Catch, Choice (StringEquals, ...), Wait (SecondsPath,
  TimestampPath), Succeed and Fail are read from the JSON, so a state or a route added there is followed
  without a change here. Error names are AWS's (``AwsTransientError`` as the handler raises it, otherwise the
  exception's class name, with the Lambda ``Cause`` JSON);
* DynamoDB is moto's (``mock_aws``: condition expressions honoured), behind a proxy that can answer any call
  with a transient error (throttling) before or after the call took effect;
* Instagram is the fake's application (``fakeig.app.FakeApp``) in process behind an ``httpx.MockTransport``;
  a fault armed for a call answers it one of the ways the real API can: dropped before or after acting, a
  late landing (the connection drops, Instagram acts later), 2xx without a body (after acting), a 5xx
  transient or not (before or after acting), a rate limit, the publishing quota, an expired container;
  a token can be revoked at the fake;
* ``igpub cancel`` / ``igpub reschedule`` are ``igpub_cli.api.cancel_post`` / ``reschedule_post`` with a
  deployment whose Step Functions client starts and stops the model's executions (and can fail to start one).

Assumption of the model (stated, not hidden): a request whose connection dropped lands at Instagram strictly
within ``LATE_LANDING_S`` seconds of when igpub gave up on it, or never (the verify delay's premise; no model
time passes during a call, so igpub gives up when it sent the request).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from fakeig import media_checks
from fakeig.app import FakeApp
from fakeig.cdn import make_image
from fakeig.config import FakeConfig
from fakeig.http import GraphError, Request, parse_request
from fakeig.state import Token
from fakeig.usage import throttle_error
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.publishing import workflow
from igpub.repositories import aws
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.idempotency import PublishGuard
from igpub.repositories.posts import PostRepository
from tests.unit.dynamo import dynamodb, table_spec

ROOT = Path(__file__).resolve().parents[3]
ASL: dict[str, Any] = json.loads((ROOT / "statemachine" / "publish.asl.json").read_text())
SM_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:igpub-publish"
EXEC_PREFIX = SM_ARN.replace(":stateMachine:", ":execution:") + ":"
LATE_LANDING_S = 120  # = Settings.publish_verify_delay_s below
MAY_BE_LIVE = re.compile(r"may be live", re.IGNORECASE)
POST_AGAIN = re.compile(r"post (it )?again", re.IGNORECASE)

_spec = importlib.util.spec_from_file_location("publisher_app_for_model", ROOT / "functions" / "publisher" / "app.py")
assert _spec is not None and _spec.loader is not None
publisher_app = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = publisher_app  # pydantic resolves TaskEvent's annotations through it
_spec.loader.exec_module(publisher_app)

_IMAGE = make_image(1080, 1080, "jpg", 0)



class _EventRecorder:
    """The publisher's EventBridge client in the model: the events it sends, in the shape the checks read."""

    def __init__(self, world: Any) -> None:
        self.world = world

    def post_outcome(self, detail_type: str, detail: dict[str, Any]) -> None:
        execution = self.world.current.id if self.world.current is not None else None
        self.world.events.append({"DetailType": detail_type, "Detail": detail, "_execution": execution})


def _fetch(url: str, max_bytes: int, timeout: float, keep: int | None = None) -> media_checks.Fetched:
    """The fake's media download, while a World lives: every URL is a valid 1080x1080 JPEG (no network)."""
    return media_checks.Fetched(_IMAGE, len(_IMAGE))

IG_FAULTS = (
    "drop_before",  # the connection dropped, Instagram did nothing
    "drop_after",  # Instagram acted, the answer was lost
    "late",  # the connection dropped, Instagram acts later (rule land_late)
    "empty_2xx",  # Instagram acted and answered 200 without a body
    "5xx_transient", "5xx_transient_acted",
    "5xx_permanent", "5xx_permanent_acted",
    "rate_limit",
    "quota",
    "expired",
)
IG_TARGETS = ("any", "POST media", "POST media_publish", "POST comments", "GET object", "GET media", "GET comments",
              "GET content_publishing_limit")
STOPPED = "Stopped"


class ModelClock:
    """The fake's clock, moved only by the model."""

    def __init__(self, world: World) -> None:
        self.world = world

    def now(self) -> float:
        return self.world.now

    def advance(self, seconds: float) -> None:
        self.world.now += seconds

    def set(self, now: float) -> None:
        self.world.now = now

    def reset(self) -> None:
        pass


@dataclass
class Execution:
    name: str
    post_id: str
    data: dict[str, Any]
    state: str | None = ASL["StartAt"]
    end: str | None = None  # the Succeed/Fail state it ended in, "Stopped", or "Failed:<error>"
    wake_at: float = 0.0
    attempts: dict[tuple[str, int], int] = field(default_factory=dict)
    before_last_task: tuple[str, dict[str, Any]] | None = None  # for a re-run (a lost result)
    log: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return EXEC_PREFIX + self.name

    @property
    def live(self) -> bool:
        return self.end is None


@dataclass
class LateRequest:
    request: Request
    post_id: str | None
    deadline: float
    what: str


class Violation(AssertionError):
    pass


def _throttle_error() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")


_DESERIALIZE = TypeDeserializer()


class FaultyTable:
    """A boto3 Table whose next calls can fail transiently (before or after taking effect), and whose writes
    to the posts table are checked against the record's owner."""

    OPS = ("get_item", "put_item", "update_item", "query", "scan", "delete_item")

    def __init__(self, table: Any, world: World, *, posts: bool) -> None:
        self._table = table
        self._world = world
        self._posts = posts

    def __getattr__(self, op: str) -> Any:
        real = getattr(self._table, op)
        if op not in self.OPS:
            return real
        world = self._world

        def call(**kwargs: Any) -> Any:
            fault = world.take_aws_fault()
            if fault == "before":
                raise _throttle_error()
            out = real(**kwargs)
            if self._posts and op in ("put_item", "update_item"):
                world.check_owner_write(kwargs)
            if fault == "after":
                raise _throttle_error()
            return out

        return call


class ModelSFN:
    """What igpub_cli.api needs of a Step Functions client."""

    class exceptions:
        ClientError = ClientError

        class ExecutionDoesNotExist(ClientError):
            pass

        class ExecutionAlreadyExists(ClientError):
            pass

    def __init__(self, world: World) -> None:
        self.world = world

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if self.world.fail_next_start:
            self.world.fail_next_start = False
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "StartExecution")
        ex = self.world.start(name, json.loads(input))
        return {"executionArn": ex.id}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        ex = self.world.executions_by_id.get(executionArn)
        if ex is None:
            raise self.exceptions.ExecutionDoesNotExist({"Error": {"Code": "ExecutionDoesNotExist"}},
                                                        "DescribeExecution")
        if ex.live:
            return {"status": "RUNNING"}
        return {"status": "ABORTED" if ex.end == STOPPED else "FAILED" if ex.end and "Fail" in ex.end else "SUCCEEDED"}

    def stop_execution(self, *, executionArn: str, cause: str) -> None:
        ex = self.world.executions_by_id.get(executionArn)
        if ex is None:
            raise self.exceptions.ExecutionDoesNotExist({"Error": {"Code": "ExecutionDoesNotExist"}}, "StopExecution")
        if ex.live:
            ex.end = STOPPED
            ex.state = None
            ex.log.append(f"stopped: {cause}")


class ModelDeployment:
    local = False

    def __init__(self, world: World) -> None:
        self.world = world
        self.sfn = ModelSFN(world)

    def output(self, key: str) -> str:
        return {"PostsTableName": self.world.settings.posts_table,
                "AccountsTableName": self.world.settings.accounts_table,
                "PublishStateMachineArn": SM_ARN}[key]

    def table(self, key: str) -> Any:
        return {"PostsTableName": self.world.posts_table, "AccountsTableName": self.world.accounts_table}[key]

    def client(self, service: str) -> Any:
        assert service == "stepfunctions", service
        return self.sfn


def _create_tables(suffix: str) -> tuple[Any, Any, str]:
    """The posts, accounts and idempotency tables with template.yaml's keys and indexes (tests/unit/dynamo.py)."""
    ddb = dynamodb()
    posts = ddb.create_table(TableName=f"posts-{suffix}", **table_spec("PostsTable"))
    accounts = ddb.create_table(TableName=f"accounts-{suffix}", **table_spec("AccountsTable"))
    idem = f"idempotency-{suffix}"
    ddb.create_table(TableName=idem, **table_spec("IdempotencyTable"))
    return posts, accounts, idem


class Cipher:
    def __init__(self, world: World) -> None:
        self.world = world

    def decrypt(self, blob: bytes, *, account_id: str) -> str:
        return self.world.token


class World:
    """One run of the model: the fake, the tables, the executions, the faults, the checks."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))
        self.suffix = secrets.token_hex(4)
        self.app = FakeApp(FakeConfig())
        self.app.clock = ModelClock(self)  # type: ignore[assignment]
        self.user = next(iter(self.app.store.users.values()))
        self.account_id = self.user.user_id
        self.token = "IGAA" + secrets.token_urlsafe(120)
        self.app.store.tokens[self.token] = Token(
            token=self.token, kind="ig_long", user_id=self.user.user_id, issued_at=self.now - 3600,
            expires_at=self.now + 5_000_000, app_id=self.app.config.ig_app_id,
            scopes=["instagram_business_basic", "instagram_business_content_publish",
                    "instagram_business_manage_comments", "instagram_business_manage_insights"],
        )
        posts, accounts, idem = _create_tables(self.suffix)
        self.settings = Settings(
            graph_instagram_base="https://model.invalid/graph.instagram.com",
            graph_facebook_base="https://model.invalid/graph.facebook.com",
            posts_table=posts.name, accounts_table=accounts.name, idempotency_table=idem,
            publish_verify_delay_s=LATE_LANDING_S, status_poll_interval_s=5, max_status_checks=6,
        )
        self.posts_table = FaultyTable(posts, self, posts=True)
        self.accounts_table = FaultyTable(accounts, self, posts=False)
        self._raw_posts = posts
        AccountRepository(accounts.name, table=accounts).save_connection(
            account_id=self.account_id, username=self.user.username, account_type="Business", app_scoped_id=None,
            scopes=["instagram_business_basic", "instagram_business_content_publish"], token_ciphertext=b"sealed",
            issued_at=int(self.now - 3600), expires_at=int(self.now + 5_000_000), now=self.now,
        )
        self.client = InstagramClient(
            self.settings, http=httpx.Client(transport=httpx.MockTransport(self._transport)), sleep=lambda s: None
        )
        self.deps = workflow.Deps(
            settings=self.settings, posts=PostRepository(posts.name, table=self.posts_table),  # type: ignore[arg-type]
            accounts=AccountRepository(accounts.name, table=self.accounts_table),  # type: ignore[arg-type]
            cipher=Cipher(self), client=self.client, media=None,  # type: ignore[arg-type]
            clock=lambda: self.now, publish_guard=PublishGuard(idem),
        )
        self.dep = ModelDeployment(self)
        self.executions: list[Execution] = []
        self.executions_by_id: dict[str, Execution] = {}
        self.current: Execution | None = None
        self.ig_faults: list[tuple[str, str]] = []  # (target, kind), each fires once
        self.aws_faults: dict[int, str] = {}  # the n-th next AWS call -> "before" | "after"
        self.aws_calls = 0
        self.fail_next_start = False
        self.late: list[LateRequest] = []
        self.container_post: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.trace: list[str] = []
        self._real_fetch = media_checks.fetch
        media_checks.fetch = _fetch  # type: ignore[assignment]  # restored by close()
        self._real_events = publisher_app._events
        publisher_app._events = lambda: _EventRecorder(self)  # type: ignore[assignment]  # restored by close()

    def close(self) -> None:
        media_checks.fetch = self._real_fetch  # type: ignore[assignment]
        publisher_app._events = self._real_events  # type: ignore[assignment]
        self.client.close()
        for t in (self._raw_posts, self.accounts_table._table):
            t.delete()
        dynamodb().meta.client.delete_table(TableName=self.settings.idempotency_table)

    # ------------------------------------------------------------------ faults
    def take_aws_fault(self) -> str | None:
        n = self.aws_calls
        self.aws_calls += 1
        return self.aws_faults.pop(n, None)

    def arm_aws_fault(self, nth: int, when: str) -> None:
        self.aws_faults[self.aws_calls + nth] = when

    def arm_ig_fault(self, target: str, kind: str) -> None:
        self.ig_faults.append((target, kind))

    def revoke_token(self) -> None:
        tok = self.app.store.tokens[self.token]
        tok.revoked_subcode, tok.revoked_at = 460, self.now

    # ------------------------------------------------------------------ the fake behind httpx
    @staticmethod
    def _target(req: Request) -> str:
        segs = [s for s in req.route.split("/") if s]
        if req.method == "POST" and len(segs) == 2 and segs[1] in ("media", "media_publish", "comments"):
            return f"POST {segs[1]}"
        if req.method == "GET" and len(segs) == 2:
            return f"GET {segs[1]}"
        if req.method == "GET" and len(segs) == 1:
            return "GET object"
        return f"{req.method} other"

    def _take_ig_fault(self, target: str) -> str | None:
        for i, (want, kind) in enumerate(self.ig_faults):
            if want in ("any", target):
                del self.ig_faults[i]
                return kind
        return None

    def _route(self, req: Request, post_id: str | None) -> Any:
        resp = self.app.handle(req)
        if req.method == "POST" and req.route.endswith("/media") and resp.status == 200 and post_id:
            body = resp.json_data()
            if isinstance(body, dict) and body.get("id"):
                self.container_post[str(body["id"])] = post_id
        return resp

    def _transport(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        req = Request(method=request.method, raw_path=raw, headers=headers, body=request.read())
        probe = Request(method=request.method, raw_path=raw, headers=headers, body=req.body)
        parse_request(probe)
        target = self._target(probe)
        post_id = self.current.post_id if self.current else None
        kind = self._take_ig_fault(target)
        self.trace.append(f"  ig {target}{' !' + kind if kind else ''}")
        if kind == "drop_before":
            raise httpx.ReadTimeout("injected: dropped before Instagram acted", request=request)
        if kind == "late":
            self.late.append(LateRequest(req, post_id, self.now + LATE_LANDING_S, target))
            raise httpx.ReadTimeout("injected: dropped; Instagram acts later", request=request)
        if kind in ("rate_limit", "quota", "expired", "5xx_transient", "5xx_permanent"):
            err = {
                "rate_limit": lambda: throttle_error(80002),
                "quota": lambda: GraphError(9, "Application request limit reached", 2207042),
                "expired": lambda: GraphError(24, "The media builder does not exist or has been expired.", 2207008),
                "5xx_transient": lambda: GraphError(1, "An unknown error has occurred.", is_transient=True,
                                                    http_status=500),
                "5xx_permanent": lambda: GraphError(2, "Service temporarily unavailable", is_transient=False,
                                                    http_status=500),
            }[kind]()
            return self._httpx(err.response())
        resp = self._route(req, post_id)
        if kind == "drop_after":
            raise httpx.ReadTimeout("injected: dropped after Instagram acted", request=request)
        if kind == "empty_2xx":
            return httpx.Response(200, content=b"", headers={"content-type": "application/json"})
        if kind in ("5xx_transient_acted", "5xx_permanent_acted"):
            transient = kind == "5xx_transient_acted"
            return self._httpx(GraphError(1 if transient else 2, "An unknown error has occurred.",
                                          is_transient=transient, http_status=500).response())
        if resp.drop:
            raise httpx.ReadTimeout("the fake dropped the connection", request=request)
        return self._httpx(resp)

    @staticmethod
    def _httpx(resp: Any) -> httpx.Response:
        headers = {**resp.headers, "content-type": resp.content_type}
        return httpx.Response(resp.status, content=resp.body, headers=headers)

    def land_late(self, index: int) -> None:
        if not self.late:
            return
        late = self.late.pop(index % len(self.late))
        if self.now < late.deadline:
            self.trace.append(f"  late {late.what} lands")
            self._route(late.request, late.post_id)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.late = [r for r in self.late if r.deadline > self.now]  # never lands

    # ------------------------------------------------------------------ Step Functions
    def start(self, name: str, data: dict[str, Any]) -> Execution:
        if EXEC_PREFIX + name in self.executions_by_id:
            raise ModelSFN.exceptions.ExecutionAlreadyExists({"Error": {"Code": "ExecutionAlreadyExists"}},
                                                             "StartExecution")
        ex = Execution(name=name, post_id=str(data["post_id"]), data=data)
        self.executions.append(ex)
        self.executions_by_id[ex.id] = ex
        self._flow(ex)
        return ex

    def live(self) -> list[Execution]:
        return [e for e in self.executions if e.live]

    def _get(self, data: dict[str, Any], path: str, ex: Execution) -> Any:
        if path.startswith("$$."):
            if path == "$$.State.EnteredTime":
                return datetime.fromtimestamp(self.now, UTC).isoformat()
            assert path == "$$.Execution.Id", path
            return ex.id
        cur: Any = data
        for part in path[2:].split(".") if path != "$" else []:
            if not isinstance(cur, dict) or part not in cur:
                raise KeyError(path)
            cur = cur[part]
        return cur

    def _params(self, params: dict[str, Any], ex: Execution) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key.endswith(".$"):
                out[key[:-2]] = self._get(ex.data, value, ex)
            elif isinstance(value, dict):
                out[key] = self._params(value, ex)
            elif isinstance(value, list):
                out[key] = [self._params(v, ex) if isinstance(v, dict) else v for v in value]
            else:
                out[key] = value
        return out

    @staticmethod
    def _put(data: dict[str, Any], path: str | None, value: Any) -> dict[str, Any]:
        if path is None:
            return data
        if path == "$":
            return dict(value)
        assert path.startswith("$.") and "." not in path[2:], path
        return {**data, path[2:]: value}

    def _choice(self, rule: dict[str, Any], ex: Execution) -> bool:
        if "And" in rule:
            return all(self._choice(r, ex) for r in rule["And"])
        if "Or" in rule:
            return any(self._choice(r, ex) for r in rule["Or"])
        if "Not" in rule:
            return not self._choice(rule["Not"], ex)
        try:
            value = self._get(ex.data, rule["Variable"], ex)
        except KeyError:
            return "IsPresent" in rule and rule["IsPresent"] is False
        for op, test in (("StringEquals", lambda v, x: v == x), ("BooleanEquals", lambda v, x: v is x),
                         ("NumericEquals", lambda v, x: v == x), ("IsPresent", lambda v, x: x is True),
                         ("IsNull", lambda v, x: (v is None) is x)):
            if op in rule:
                return bool(test(value, rule[op]))
        raise NotImplementedError(f"Choice rule {rule}")

    def _flow(self, ex: Execution) -> None:
        """Follow the states that need no Lambda (Choice, Wait, Succeed, Fail, EventBridge) up to the next task."""
        while ex.live and ex.state is not None:
            st = ASL["States"][ex.state]
            kind = st["Type"]
            if kind == "Task" and st["Resource"] == "${PublisherFunctionArn}":
                return
            ex.log.append(ex.state)
            if kind == "Task" and st["Resource"] == "arn:aws:states:::events:putEvents":
                try:
                    entry = self._params(st["Parameters"], ex)["Entries"][0]
                except KeyError as missing:  # Step Functions: States.Runtime, which no Catch catches
                    ex.end, ex.state = f"Failed:States.Runtime ({ex.state}: no {missing} in the input)", None
                    return
                self.events.append({**entry, "_execution": ex.id})
                ex.data = self._put(ex.data, st.get("ResultPath", "$"), {})
                ex.state = st["Next"]
            elif kind == "Task" and st["Resource"] == "arn:aws:states:::dynamodb:updateItem":
                params = self._params(st["Parameters"], ex)
                assert params["TableName"] == "${PostsTableName}", params["TableName"]
                params["TableName"] = self.settings.posts_table
                name = ex.state
                try:
                    dynamodb().meta.client.update_item(**params)
                except ClientError as exc:  # Step Functions names it DynamoDB.<code>
                    self._task_error(ex, name, st, exc, error=f"DynamoDB.{exc.response['Error']['Code']}")
                    if ex.live and ex.state == name:  # retried: the model runs it again at once
                        continue
                    return
                ex.data = self._put(ex.data, st.get("ResultPath", "$"), {})
                ex.state = st["Next"]
            elif kind == "Task":
                raise NotImplementedError(f"{ex.state}: {st['Resource']} (the model's requests never need it)")
            elif kind == "Choice":
                nxt = next((r["Next"] for r in st["Choices"] if self._choice(r, ex)), st.get("Default"))
                assert nxt is not None, f"{ex.state}: no Choice matched and no Default ({ex.data.get('outcome')})"
                ex.state = nxt
            elif kind == "Wait":
                if "SecondsPath" in st or "Seconds" in st:
                    secs = st.get("Seconds") or self._get(ex.data, st["SecondsPath"], ex)
                    ex.wake_at = self.now + float(secs)
                else:
                    at = st.get("Timestamp") or self._get(ex.data, st["TimestampPath"], ex)
                    ex.wake_at = datetime.fromisoformat(str(at).replace("Z", "+00:00")).timestamp()
                ex.state = st["Next"]
            elif kind == "Pass":
                ex.state = st["Next"]
            elif kind in ("Succeed", "Fail"):
                ex.end, ex.state = ex.state, None
            else:
                raise NotImplementedError(kind)

    def run(self, ex: Execution, *, rerun: bool = False) -> None:
        """Run the execution's pending task (after its wait: the clock jumps there); ``rerun`` first puts it back
        to before its last task, as when the task's result was lost and Step Functions runs it again."""
        if rerun:
            if ex.before_last_task is None:
                return
            ex.state, ex.data = ex.before_last_task[0], dict(ex.before_last_task[1])
            ex.end = None
        if not ex.live or ex.state is None:
            return
        if ex.wake_at > self.now:
            self.advance(ex.wake_at - self.now)
        name = ex.state
        st = ASL["States"][name]
        try:
            params = self._params(st["Parameters"], ex)
        except KeyError as missing:
            ex.end, ex.state = f"Failed:States.Runtime ({name}: no {missing} in the input)", None
            return
        ex.before_last_task = (name, dict(ex.data))
        self.trace.append(f"{ex.name} {name}{' (again)' if rerun else ''}")
        self.current = ex
        try:
            event = publisher_app.TaskEvent.model_validate(params)
            out: Any = publisher_app._run(self.deps, event)
            # the handler's next line: igpub.PostPublished / igpub.PostFailed, sent by the task that knows
            publisher_app._announce(event, out)
            out = json.loads(json.dumps(out))
        except Exception as exc:  # noqa: BLE001 - what Step Functions sees of a failed Lambda
            self._task_error(ex, name, st, exc)
            return
        finally:
            self.current = None
            publisher_app.metrics.clear_metrics()
        self.trace.append(f"  -> {_short(out)}")
        self.check_outcome(out, ex)
        ex.attempts = {k: v for k, v in ex.attempts.items() if k[0] != name}
        ex.data = self._put(ex.data, st.get("ResultPath", "$"), out)
        if st.get("End"):
            ex.end, ex.state = name, None
            return
        ex.state = st["Next"]
        self._flow(ex)

    def _task_error(self, ex: Execution, name: str, st: dict[str, Any], exc: Exception, *,
                    error: str | None = None) -> None:
        error = error or ("AwsTransientError" if aws.transient_aws_error(exc) else type(exc).__name__)
        message = f"AWS kept failing ({aws.transient_aws_error(exc)})" if error == "AwsTransientError" else str(exc)
        cause = json.dumps({"errorMessage": message, "errorType": error, "stackTrace": []})
        self.trace.append(f"  -> raised {error}: {message[:80]}")
        self.check_outcome({"Error": error, "Cause": cause}, ex)
        for i, retrier in enumerate(st.get("Retry", [])):
            if error in retrier["ErrorEquals"] or "States.ALL" in retrier["ErrorEquals"]:
                n = ex.attempts.get((name, i), 0)
                if n < retrier.get("MaxAttempts", 3):
                    ex.attempts[(name, i)] = n + 1
                    ex.wake_at = self.now + retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** n
                    return
                break
        for catcher in st.get("Catch", []):
            if error in catcher["ErrorEquals"] or "States.ALL" in catcher["ErrorEquals"]:
                ex.data = self._put(ex.data, catcher.get("ResultPath", "$"), {"Error": error, "Cause": cause})
                ex.state = catcher["Next"]
                self._flow(ex)
                return
        ex.end, ex.state = f"Failed:{error}", None

    def drain(self, max_steps: int = 400) -> None:
        """Run every live execution to its end, without new faults (late requests land if still in time)."""
        self.ig_faults.clear()
        self.aws_faults.clear()
        while self.late:
            self.land_late(0)
        for _ in range(max_steps):
            live = self.live()
            if not live:
                return
            ex = min(live, key=lambda e: e.wake_at)
            self.run(ex)
            self.check()
        raise Violation(f"executions still running after {max_steps} steps: {[e.name for e in self.live()]}")

    # ------------------------------------------------------------------ the checks
    def media_of(self, post_id: str) -> list[Any]:
        return [m for m in self.app.store.media.values()
                if not m.is_carousel_child and self.container_post.get(m.container_id) == post_id]

    def own_comments_on(self, media_ids: set[str]) -> list[Any]:
        return [c for c in self.app.store.comments.values() if c.by_owner and c.media_id in media_ids and not c.deleted]

    def records(self) -> dict[str, dict[str, Any]]:
        return {str(i["post_id"]): i for i in self._stored_posts()}

    def _stored_posts(self, post_id: str | None = None) -> list[dict[str, Any]]:
        """The posts table's items (or one), read from moto's store: what a consistent Scan (GetItem) answers,
        without moto building and boto3 parsing an HTTP answer for each of the thousands of checks (that was
        most of the model's time)."""
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(self._raw_posts.name)
        items = table.all_items() if post_id is None else [i for i in table.all_items()
                                                             if i.hash_key.value == post_id]
        return [_DESERIALIZE.deserialize({"M": i.to_json()["Attributes"]}) for i in items]

    def check_owner_write(self, kwargs: dict[str, Any]) -> None:
        ex = self.current
        if ex is None:
            return  # igpub cancel / reschedule: conditional on the old owner by design
        post_id = (kwargs.get("Key") or kwargs.get("Item") or {}).get("post_id")
        item = next(iter(self._stored_posts(str(post_id))), {})
        if item and item.get("execution_id") != ex.id:
            self.violations.append(
                f"{ex.name} wrote post {post_id} owned by {str(item.get('execution_id')).rsplit(':', 1)[-1]} "
                f"(status now {item.get('status')}): {kwargs.get('UpdateExpression', 'put')}"
            )

    def check_outcome(self, out: Any, ex: Execution) -> None:
        if self.token in json.dumps(out, default=str):
            self.violations.append(f"{ex.name}: the token is in a task's outcome")

    def check(self) -> None:
        for e in self.executions:
            if e.end and e.end.startswith("Failed:"):
                self.violations.append(f"execution {e.name} failed with an error no state caught ({e.end})")
        records = self.records()
        if self.token in json.dumps([records, self.events], default=str):
            self.violations.append("the token is in a post record or an event")
        known = {e.post_id for e in self.executions} | set(records)
        seen_media: dict[str, str] = {}
        for post_id in sorted(known):
            media = self.media_of(post_id)
            rec = records.get(post_id)
            if len(media) > 1:
                self.violations.append(f"post {post_id} is on Instagram {len(media)} times")
            comments = self.own_comments_on({m.id for m in media})
            if len(comments) > 1:
                self.violations.append(f"post {post_id} has {len(comments)} first comments")
            if rec is None:
                continue
            status, reason = rec.get("status"), str(rec.get("failure_reason") or "")
            may_be_live = bool(rec.get("may_be_live")) or bool(MAY_BE_LIVE.search(reason))
            if status == "failed" and media and not may_be_live:
                self.violations.append(f"post {post_id} is recorded failed but is live: {reason[:200]!r}")
            if status == "failed" and media and POST_AGAIN.search(reason):
                self.violations.append(f"post {post_id} is live and its failure says to post again: {reason[:200]!r}")
            mid = rec.get("media_id")
            if mid:
                if mid not in {m.id for m in media}:
                    self.violations.append(f"post {post_id} recorded media {mid}, not one of its own")
                if mid in seen_media:
                    self.violations.append(f"posts {seen_media[mid]} and {post_id} recorded the same media {mid}")
                seen_media[str(mid)] = post_id
        for event in self.events:
            detail = event.get("Detail", {})
            post_id, reason = str(detail.get("post_id")), str(detail.get("reason") or "")
            failed_event = event.get("DetailType") == "igpub.PostFailed"
            if failed_event and self.media_of(post_id) and not MAY_BE_LIVE.search(reason):
                self.violations.append(f"igpub.PostFailed was sent for post {post_id}, which is live: {reason[:150]!r}")
        if self.violations:
            raise Violation("\n".join(self.violations))

    def check_final(self) -> None:
        """Once every execution ended: each post is published, failed or cancelled (a rescheduled post's last
        execution ended too), and the record agrees with Instagram."""
        records = self.records()
        for post_id in sorted({e.post_id for e in self.executions}):
            rec = records.get(post_id)
            media = self.media_of(post_id)
            ends = [f"{e.name}:{e.end}" for e in self.executions if e.post_id == post_id]
            if rec is None:
                if media:
                    self.violations.append(f"post {post_id} is live but has no record ({ends})")
                continue
            status = rec.get("status")
            if status not in ("published", "failed", "cancelled"):
                self.violations.append(f"post {post_id} stuck in {status} after its executions ended ({ends})")
            if status == "published" and len(media) != 1:
                self.violations.append(f"post {post_id} recorded published with {len(media)} media at Instagram")
            if status == "cancelled" and media:
                self.violations.append(f"post {post_id} recorded cancelled but is live")
        if self.violations:
            raise Violation("\n".join(self.violations))


def _short(out: Any) -> str:
    if not isinstance(out, dict):
        return repr(out)[:100]
    keep = {k: (str(v)[:90] if isinstance(v, str) else v) for k, v in out.items()
            if k in ("status", "reason", "code", "wait_s", "first_comment_status", "may_be_live")}
    return json.dumps(keep)


RequestMaker = Callable[[World], dict[str, Any]]


def request_for(world: World, variant: str, *, publish_in_s: int = 300) -> dict[str, Any]:
    """A post request: valid now, valid with a first comment, scheduled, invalid, or for an unknown account."""
    base: dict[str, Any] = {"account_id": world.account_id, "kind": "image",
                            "media": [{"url": "https://cdn.model.invalid/image.jpg"}], "caption": "Same caption"}
    if variant == "comment":
        base["first_comment"] = "first!"
    elif variant == "scheduled":
        base["publish_at"] = datetime.fromtimestamp(world.now + publish_in_s, UTC).isoformat()
        base["first_comment"] = "first!"
    elif variant == "invalid":
        base["media"] = []
    elif variant == "no_account":
        base["account_id"] = "17841400000000000"
    elif variant == "carousel":
        base["kind"] = "carousel"
        base["media"] = [{"url": "https://cdn.model.invalid/a.jpg"}, {"url": "https://cdn.model.invalid/b.jpg"}]
    return base


@contextlib.contextmanager
def offline_aws(monkeypatch: Any) -> Iterator[None]:
    """moto's AWS in process, with test credentials and no endpoint of the local stack in the way."""
    for key, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    with mock_aws():
        yield
