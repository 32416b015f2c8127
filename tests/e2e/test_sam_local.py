"""Every sample event in events/ through SAM CLI's local Lambda (Docker, the Lambda base image or its
stand-in) against the deployed local stack, and an account connected through `sam local start-api`.

One `sam local start-lambda` per test run (`local/samlocal.sh lambda`) with warm containers: each
function's container (and the layer image under it) is made once, at its start (begun in the
background at the session's first e2e test, tests/e2e/conftest.py), and every event is
an `Invoke` of SAM's local Lambda API through boto3, as `sam local invoke` users' code would call
the real one. Each event file maps to its function, what it needs in the stack first (seeded
through the deployed stack: the OAuth flow, the deployed publisher, DynamoDB), and what its result
must be. An event file without an entry fails: whoever adds an event adds its case here. An error
raised inside the function (``FunctionError``) fails the test.

Needs a container engine: `local/samlocal.sh` uses DOCKER_HOST, /var/run/docker.sock or starts its
own dockerd (root + Debian's docker.io). Where none can run these tests skip, loudly, unless
IGPUB_REQUIRE_DOCKER=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config

from igpub.accounts import Account
from igpub_cli.api import create_invite, list_accounts
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from tests.conftest import sample_event_invite
from tests.e2e.samlocal_support import Background, SamLocalServer
from tests.e2e.test_hashtags_e2e import clear_hashtags, facebook_connect
from tests.e2e.test_refresh_e2e import shift_token_times
from tests.local_stack import RUN_DIR

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
DAY = 86400


@dataclass
class Invocation:
    result: Any
    logs: str


class LocalLambda:
    """SAM CLI's local Lambda API (`sam local start-lambda`), called with boto3."""

    def __init__(self, base: str, log_path: Path) -> None:
        self.log_path = log_path
        self.client = boto3.client(
            "lambda", endpoint_url=base, region_name="us-east-1",
            config=Config(read_timeout=300, connect_timeout=10, retries={"max_attempts": 0}),
        )

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        seen = self.log_path.stat().st_size
        resp = self.client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = resp["Payload"].read().decode()
        logs = self._logs_since(seen, until="REPORT RequestId")
        result = json.loads(payload) if payload.strip() else None
        if resp.get("FunctionError") or (
            isinstance(result, dict) and ("errorType" in result or "errorMessage" in result)
        ):
            pytest.fail(f"{function} raised inside sam local: {payload[:2000]}\n{logs[-4000:]}")
        assert resp["StatusCode"] == 200, resp
        assert "REPORT RequestId" in logs, logs[-2000:]  # it ran in the container
        return Invocation(result, logs)

    def _logs_since(self, offset: int, *, until: str, timeout: float = 10) -> str:
        """What SAM CLI logged since ``offset`` (the container's lines come a moment after the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.log_path.open("rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            if until in text or time.monotonic() > deadline:
                return text
            time.sleep(0.1)


@pytest.fixture(scope="module")
def sam_servers(sam_local_background: Background) -> dict[str, SamLocalServer]:
    """The session's `sam local start-lambda` and `start-api` (tests/e2e/conftest.py started them early)."""
    return sam_local_background.result().servers


@pytest.fixture(scope="module")
def local_lambda(sam_servers: dict[str, SamLocalServer]) -> LocalLambda:
    server = sam_servers["lambda"]
    return LocalLambda(server.ready(), server.log_path)


# ------------------------------------------------------------------------------ seeding helpers
@dataclass
class Ctx:
    dep: Deployment
    fake: FakeInstagram
    account: Callable[[], Account]  # the fake's demo user connected through the deployed OAuth flow
    data: dict[str, Any] = field(default_factory=dict)


def function_name(dep: Deployment, logical_id: str) -> str:
    res = dep.client("cloudformation").describe_stack_resource(StackName=dep.stack, LogicalResourceId=logical_id)
    return str(res["StackResourceDetail"]["PhysicalResourceId"])


def deployed_publisher(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    resp = ctx.dep.client("lambda").invoke(
        FunctionName=function_name(ctx.dep, "PublisherFunction"), Payload=json.dumps(event).encode()
    )
    body: dict[str, Any] = json.loads(resp["Payload"].read())
    assert not resp.get("FunctionError"), body
    return body


def post_record(ctx: Ctx, post_id: str) -> dict[str, Any]:
    item = ctx.dep.client("dynamodb").get_item(
        TableName=ctx.dep.output("PostsTableName"), Key={"post_id": {"S": post_id}}, ConsistentRead=True
    )
    return dict(item.get("Item") or {})


def publisher_event(ctx: Ctx, event: dict[str, Any], *, run_before: tuple[str, ...]) -> dict[str, Any]:
    """The sample event for a new post of the connected account; the steps before it run on the
    deployed publisher (what the state machine would have done)."""
    account = ctx.account()
    post_id = uuid.uuid4().hex
    execution_id = f"arn:aws:states:us-east-1:000000000000:execution:sam-local:{post_id}"
    prepare = json.loads((EVENTS / "publisher_prepare.json").read_text())
    prepare |= {"post_id": post_id, "execution_id": execution_id}
    prepare["request"] |= {
        "account_id": account.account_id,
        "media": [{"url": ctx.fake.cdn("image.jpg", w=1080, h=1080), "alt_text": "A sunrise"}],
    }
    ctx.data.update(post_id=post_id, account_id=account.account_id)
    for step in run_before:
        ev = prepare if step == "prepare" else {"step": step, "post_id": post_id, "execution_id": execution_id}
        outcome = deployed_publisher(ctx, ev)
        assert outcome.get("status") not in ("failed", "duplicate"), outcome
    if event.get("step") == "prepare":
        return prepare
    return event | {"post_id": post_id, "execution_id": execution_id}


def oauth_event(event: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    return event | {
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
    }


def authorize_code(connect_url: str) -> dict[str, str]:
    """GET the deployed connect route, approve at the fake: the code and state the callback would get."""
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        first = http.get(connect_url)
        assert first.status_code == 302, first.text
        consent = http.get(first.headers["location"])
        assert consent.status_code == 302, consent.text
    query = parse_qs(urlsplit(consent.headers["location"].split("#", 1)[0]).query)
    return {"code": query["code"][0], "state": query["state"][0]}


def header(resp: dict[str, Any], name: str) -> str:
    headers = {k.lower(): v for k, v in (resp.get("headers") or {}).items()}
    for k, v in (resp.get("multiValueHeaders") or {}).items():
        headers.setdefault(k.lower(), v[0])
    return str(headers.get(name.lower(), ""))


def demo_user_id(ctx: Ctx) -> str:
    return str(next(u for u in ctx.fake.users() if u["username"] == "igpub_demo")["user_id"])


# ------------------------------------------------------------------------------ the cases
@dataclass(frozen=True)
class Case:
    function: str  # the template's logical id
    seed: Callable[[Ctx, dict[str, Any]], dict[str, Any]]  # the sample event -> the event to invoke
    check: Callable[[Ctx, Any], None]  # the function's result -> assertions


def _as_is(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return event


def _with_sample_invite(flow: str) -> Callable[[Ctx, dict[str, Any]], dict[str, Any]]:
    """The connect sample events carry an invite: store it (unused) first."""
    def seed(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
        sample_event_invite(ctx.dep, "oauth_connect" if flow == "instagram" else "oauth_connect_facebook", flow=flow)
        return event
    return seed


def _check_connect(ctx: Ctx, out: Any) -> None:
    assert out["statusCode"] == 302, out
    location = urlsplit(header(out, "Location"))
    assert location.path.endswith("/www.instagram.com/oauth/authorize"), location
    query = parse_qs(location.query)
    assert query["redirect_uri"] == [ctx.dep.output("OAuthRedirectUri")]
    state = ctx.dep.client("dynamodb").get_item(
        TableName=ctx.dep.output("OAuthStatesTableName"), Key={"state": {"S": query["state"][0]}}
    )
    assert "Item" in state, "the state the function issued is not in the emulator's table"


def _check_connect_facebook(ctx: Ctx, out: Any) -> None:
    assert out["statusCode"] == 302, out
    location = urlsplit(header(out, "Location"))
    assert location.path.endswith("/dialog/oauth"), location
    assert parse_qs(location.query)["client_id"] == ["igpub-local-fb-app"]


def _seed_callback(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    ctx.data["before"] = {a.account_id for a in list_accounts(ctx.dep)}
    return oauth_event(event, authorize_code(create_invite(ctx.dep).url))


def _check_callback(ctx: Ctx, out: Any) -> None:
    assert out["statusCode"] == 200, out
    accounts = {a.username: a for a in list_accounts(ctx.dep)}
    assert "igpub_demo" in accounts and accounts["igpub_demo"].status == "active"
    assert "igpub_demo" in out["body"]


def _seed_facebook_callback(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    clear_hashtags(ctx.dep, demo_user_id(ctx))
    return oauth_event(event, authorize_code(create_invite(ctx.dep, facebook=True).url))


def _check_facebook_callback(ctx: Ctx, out: Any) -> None:
    assert out["statusCode"] == 200, out
    assert "Facebook Login connected" in out["body"]
    item = ctx.dep.client("dynamodb").get_item(
        TableName=ctx.dep.output("HashtagsTableName"),
        Key={"pk": {"S": f"ACCOUNT#{demo_user_id(ctx)}"}, "sk": {"S": "FACEBOOK"}},
    )
    assert "token_ciphertext" in item["Item"]


def _seed_hashtags(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    uid = demo_user_id(ctx)
    clear_hashtags(ctx.dep, uid)
    if event["action"] == "discover":
        assert facebook_connect(ctx.dep).status_code == 200
    ctx.data["account_id"] = uid
    return event | {"account_id": uid}


def _check_budget(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "ok", out
    assert out["budget"]["account_id"] == ctx.data["account_id"] and out["budget"]["limit"] == 30


def _check_discover(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "ok", out
    assert out["added"], out
    pool = ctx.dep.client("dynamodb").query(
        TableName=ctx.dep.output("HashtagsTableName"),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :pool)",
        ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{ctx.data['account_id']}"}, ":pool": {"S": "POOL#cafe#"}},
    )["Items"]
    assert len(pool) == len(out["added"])


def _seed_prepare(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return publisher_event(ctx, event, run_before=())


def _check_prepare(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "ready", out
    assert post_record(ctx, ctx.data["post_id"])["account_id"]["S"] == ctx.data["account_id"]


def _seed_create(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return publisher_event(ctx, event, run_before=("prepare",))


def _check_created(ctx: Ctx, out: Any) -> None:
    # once every container is FINISHED the same invocation publishes (the state machine's CreateContainers)
    assert out["status"] in ("in_progress", "published"), out
    saved = post_record(ctx, ctx.data["post_id"]).get("item_containers", {}).get("L", [])
    assert saved, "no container id saved"
    assert {c["S"] for c in saved} <= {str(c["id"]) for c in ctx.fake.containers()}


def _seed_check(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return publisher_event(ctx, event, run_before=("prepare", "create"))


def _check_checked(ctx: Ctx, out: Any) -> None:
    # FINISHED: published in the same invocation
    assert out["status"] == "published", out
    assert post_record(ctx, ctx.data["post_id"])["status"]["S"] == "published"


def _seed_publish(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return publisher_event(ctx, event, run_before=("prepare", "create", "check"))


def _check_published(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "published", out
    assert out["media_id"] in {m["id"] for m in ctx.fake.media()}
    assert post_record(ctx, ctx.data["post_id"])["status"]["S"] == "published"


def _seed_fail(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    return publisher_event(ctx, event, run_before=("prepare",))


def _check_failed(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "failed" and "2207052" in out["reason"], out
    record = post_record(ctx, ctx.data["post_id"])
    assert record["status"]["S"] == "failed" and "2207052" in record["failure_reason"]["S"]


def _seed_refresh_account(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    account = ctx.account()
    ctx.fake.advance(2 * DAY)  # connected two days ago at the fake and in igpub's records
    shift_token_times(ctx.dep, account.account_id, issued_by=2 * DAY)
    ctx.data["account_id"] = account.account_id
    return event | {"account_id": account.account_id}


def _check_refreshed_one(ctx: Ctx, out: Any) -> None:
    assert out["refreshed"] == 1 and out["failed"] == 0, out


def _seed_schedule(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    ddb, table = ctx.dep.client("dynamodb"), ctx.dep.output("AccountsTableName")
    for item in ddb.scan(TableName=table, ProjectionExpression="account_id").get("Items", []):
        ddb.delete_item(TableName=table, Key={"account_id": item["account_id"]})  # earlier tests' accounts
    account = ctx.account()
    ctx.fake.advance(50 * DAY)  # 50 days old: due (expires within the 14-day window)
    shift_token_times(ctx.dep, account.account_id, issued_by=50 * DAY)
    return event


def _check_schedule(ctx: Ctx, out: Any) -> None:
    assert out["refreshed"] >= 1 and out["failed"] == 0 and out["needs_reauth"] == 0, out


def _seed_post_insights(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    publish = json.loads((EVENTS / "publisher_publish.json").read_text())
    seeded = publisher_event(ctx, publish, run_before=("prepare", "create", "check"))
    assert deployed_publisher(ctx, seeded)["status"] == "published"
    ctx.data["post_id"] = seeded["post_id"]
    return event | {"post_id": seeded["post_id"]}


def _check_post_insights(ctx: Ctx, out: Any) -> None:
    # the demo account is connected without the insights permission: the answer is recorded, not raised
    assert out["status"] == "ok" and out["post_id"] == ctx.data["post_id"], out
    assert "latest" in out["insights"], out


def _check_ok(ctx: Ctx, out: Any) -> None:
    assert out["status"] == "ok", out


def _seed_webhook_verify(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    token = ctx.dep.client("secretsmanager").get_secret_value(SecretId=ctx.dep.output("WebhookVerifyTokenArn"))
    event["queryStringParameters"]["hub.verify_token"] = token["SecretString"]
    return event


def _check_webhook_verify(ctx: Ctx, out: Any) -> None:
    assert (out["statusCode"], out["body"]) == (200, "1158201444"), out


def _check_webhook_comment(ctx: Ctx, out: Any) -> None:
    assert out["statusCode"] == 200, out  # signed with the local app secret (stored once; a repeat is a duplicate)


def _seed_media(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    """A 3:1 PNG in the bucket, and a post claimed for it by the deployed publisher's Prepare task (which answers
    prepare_media): the event asks the MediaFunction to prepare it."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1500, 500), (10, 20, 200)).save(buf, "PNG")
    key = f"tests/sam-local/{uuid.uuid4().hex}.png"
    ctx.dep.client("s3").put_object(Bucket=ctx.dep.output("MediaBucketName"), Key=key, Body=buf.getvalue())
    account = ctx.account()
    post_id = uuid.uuid4().hex
    execution_id = f"arn:aws:states:us-east-1:000000000000:execution:sam-local:{post_id}"
    prepare = {"step": "prepare", "post_id": post_id, "execution_id": execution_id,
               "request": {"account_id": account.account_id, "kind": "image", "media": [{"key": key}]}}
    assert deployed_publisher(ctx, prepare)["status"] == "prepare_media"
    ctx.data.update(post_id=post_id, key=key)
    return event | {"post_id": post_id, "execution_id": execution_id}


def _check_media(ctx: Ctx, out: Any) -> None:
    assert out == {"status": "ready"}, out
    rec = post_record(ctx, ctx.data["post_id"])
    [done] = rec["media_prepared"]["L"]
    assert done["M"]["rendition"]["S"] == f"{ctx.data['key']}.ig.jpg"
    assert done["M"]["summary"]["S"].startswith("PNG -> JPEG, 3.00:1 padded to 1.91:1")


CASES: dict[str, Case] = {
    "media_prepare": Case("MediaFunction", _seed_media, _check_media),
    "engagement_schedule": Case("EngagementFunction", _as_is, _check_ok),
    "engagement_post_insights": Case("EngagementFunction", _seed_post_insights, _check_post_insights),
    "webhooks_verify": Case("WebhooksFunction", _seed_webhook_verify, _check_webhook_verify),
    "webhooks_comment": Case("WebhooksFunction", _as_is, _check_webhook_comment),
    "oauth_connect": Case("OAuthFunction", _with_sample_invite("instagram"), _check_connect),
    "oauth_callback": Case("OAuthFunction", _seed_callback, _check_callback),
    "oauth_connect_facebook": Case("OAuthFunction", _with_sample_invite("facebook"), _check_connect_facebook),
    "oauth_facebook_callback": Case("OAuthFunction", _seed_facebook_callback, _check_facebook_callback),
    "hashtags_budget": Case("HashtagsFunction", _seed_hashtags, _check_budget),
    "hashtags_discover": Case("HashtagsFunction", _seed_hashtags, _check_discover),
    "publisher_prepare": Case("PublisherFunction", _seed_prepare, _check_prepare),
    "publisher_create": Case("PublisherFunction", _seed_create, _check_created),
    "publisher_check": Case("PublisherFunction", _seed_check, _check_checked),
    "publisher_publish": Case("PublisherFunction", _seed_publish, _check_published),
    "publisher_fail": Case("PublisherFunction", _seed_fail, _check_failed),
    "refresh_account": Case("RefresherFunction", _seed_refresh_account, _check_refreshed_one),
    "refresh_schedule": Case("RefresherFunction", _seed_schedule, _check_schedule),
}

EVENT_FILES = sorted(p.stem for p in EVENTS.glob("*.json"))


def test_deployed_functions_have_no_aws_endpoint_variable(dep: Deployment) -> None:
    """AWS_ENDPOINT_URL exists only under sam local (LocalAwsEndpointUrl set); deployed, it is absent."""
    lam = dep.client("lambda")
    for logical_id in ("OAuthFunction", "PublisherFunction", "RefresherFunction", "HashtagsFunction"):
        config = lam.get_function_configuration(FunctionName=function_name(dep, logical_id))
        variables = (config.get("Environment") or {}).get("Variables") or {}
        assert variables.get("IGPUB_ACCOUNTS_TABLE"), logical_id
        assert "AWS_ENDPOINT_URL" not in variables, logical_id


def test_env_vars_file_points_containers_at_this_machine(dep: Deployment) -> None:
    """.run/sam-env.json (written by make up): every function, its deployed values, URLs this machine
    serves rewritten to host.docker.internal, the authorize page (a browser's) left alone."""
    data = json.loads((RUN_DIR / "sam-env.json").read_text())
    assert {"OAuthFunction", "PublisherFunction", "RefresherFunction", "HashtagsFunction"} <= set(data)
    oauth = data["OAuthFunction"]
    assert oauth["IGPUB_ACCOUNTS_TABLE"] == dep.output("AccountsTableName")
    assert oauth["AWS_ENDPOINT_URL"] == str(dep.endpoint_url).replace("127.0.0.1", "host.docker.internal")
    assert oauth["IGPUB_GRAPH_INSTAGRAM_BASE"].startswith("http://host.docker.internal:")
    assert oauth["IGPUB_INSTAGRAM_AUTHORIZE_URL"].startswith(f"{dep.fake_url}/")


def test_every_mapped_event_exists() -> None:
    assert set(CASES) <= set(EVENT_FILES), f"cases without an event file: {set(CASES) - set(EVENT_FILES)}"


@pytest.mark.parametrize("name", EVENT_FILES)
def test_sample_event_through_sam_local_invoke(
    name: str, local_lambda: LocalLambda, dep: Deployment, fake: FakeInstagram, request: pytest.FixtureRequest,
) -> None:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"events/{name}.json has no case in tests/e2e/test_sam_local.py (CASES): add its function, "
                    "the data it needs and the result to check")
    ctx = Ctx(dep, fake, account=lambda: request.getfixturevalue("account"), data={"event_name": name})
    event = case.seed(ctx, json.loads((EVENTS / f"{name}.json").read_text()))
    run = local_lambda.invoke(case.function, event)
    case.check(ctx, run.result)


# ------------------------------------------------------------------------------ start-api
@pytest.fixture
def local_api(sam_servers: dict[str, SamLocalServer], dep: Deployment, fake: FakeInstagram) -> str:
    base = sam_servers["api"].ready()
    # `samlocal.sh api` registered its callbacks with the fake app at its start; this test's fake was reset since
    current = fake.get_config().get("allowed_redirect_uris") or []
    fake.config(allowed_redirect_uris=[*current, f"{base}/oauth/callback", f"{base}/oauth/facebook/callback"])
    return base


def test_connect_an_account_through_sam_local_start_api(local_api: str, dep: Deployment, fake: FakeInstagram) -> None:
    fake.create_user("samlocal_user")
    with httpx.Client(timeout=120, follow_redirects=False) as http:
        invite = parse_qs(urlsplit(create_invite(dep, label="sam local").url).query)["invite"][0]
        first = http.get(f"{local_api}/connect", params={"invite": invite})
        assert first.status_code == 302, first.text
        authorize = first.headers["location"]
        assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [f"{local_api}/oauth/callback"]
        consent = http.get(authorize + "&login_as=samlocal_user")
        assert consent.status_code == 302, consent.text
        callback = consent.headers["location"].split("#", 1)[0]
        assert callback.startswith(f"{local_api}/oauth/callback?")  # back through sam local, not the deployed API
        done = http.get(callback)
    assert done.status_code == 200, done.text
    assert "samlocal_user" in done.text
    accounts = {a.username: a for a in list_accounts(dep)}
    assert accounts["samlocal_user"].status == "active"
