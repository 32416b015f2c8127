"""Cold start of each built function, as ratios to two floors measured in the same run.

A run is a fresh interpreter (``python -S``: nothing but what is on PYTHONPATH) whose path holds only
what Lambda would give the function: its folder from ``.aws-sam/build``, the layer's ``python/`` folder
and boto3 (the runtime's, pinned like the emulator's). It gets the deployed function's environment
(read from the emulator) with ``AWS_ENDPOINT_URL`` pointing at the local stack, so it talks to the same
tables, key, bucket and fake Instagram as the deployed Lambda. PYTHONDONTWRITEBYTECODE is set because
Lambda's code folders are read-only: whatever bytecode the artifact does not ship is compiled again at
every cold start. Each run reports two times, both from the moment the interpreter was started:

* ``init``: the handler module imported and its dependencies built (``app._deps()`` / ``app._wired()``);
* ``first result``: the first invocation of the function's sample event (``events/``) has returned,
  i.e. the cold start as a user feels it.

The floors, each run the same way:

* ``bare``: ``import boto3``, one DynamoDB client; its first result is one GetItem.
* ``libraries``: the same plus what igpub is built on, each doing the least it can: pydantic (one small
  model, validating the event), httpx (one ``httpx.Client``), Powertools' Logger and Metrics (the
  handler decorated with Tracer's ``capture_lambda_handler``, ``inject_lambda_context`` and ``log_metrics``)
  and the Powertools utilities that function uses (parser; idempotency for the publisher; event handler
  and parameters for OAuth and webhooks). Its
  first result is one GetItem too, so the gap to a function is igpub's own imports and work plus the
  requests the function really sends (listed per function: ``aws_requests``).

Runs are interleaved (bare, libraries, function, bare, ... for each function) and medians and minimums
are reported; ratios are of medians (and of minimums), measured in the same run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
EVENTS = ROOT / "events"
RUNTIME_DEPS = ROOT / ".run" / "lambda-runtime-deps"
RUNTIME_BOTO3 = "boto3==1.43.106"  # local/stack.sh EMU_BOTO3

# the sample event each function's cold start answers (events/)
SAMPLE_EVENTS = {
    "PublisherFunction": "publisher_prepare.json",
    "RefresherFunction": "refresh_schedule.json",
    "HashtagsFunction": "hashtags_budget.json",
    "OAuthFunction": "oauth_connect.json",
    "EngagementFunction": "engagement_schedule.json",
    "WebhooksFunction": "webhooks_comment.json",  # re-signed with the deployment's app secret (signed())
}
# the Powertools utilities each function uses beyond Logger, Metrics and Tracer
UTILITIES = {
    "PublisherFunction": ["parser", "idempotency"],
    "RefresherFunction": ["parser"],
    "HashtagsFunction": ["parser"],
    "OAuthFunction": ["event_handler", "parameters"],
    "EngagementFunction": [],
    "WebhooksFunction": ["event_handler", "parameters"],
}

# Run in the child: BENCH_T0 is the parent's time.time() just before it started the interpreter.
# BENCH_MODE is "function" (import app, call its handler on each event read from stdin, a JSON list) or a floor
# (BENCH_FLOOR_CODE defines `handler`). Prints one JSON line: init_s, result_s, rss_init_kb,
# rss_peak_kb, results (the statuses), aws_requests.
PROBE = r'''
import json, os, sys, time
t0 = float(os.environ["BENCH_T0"])
def hwm_kb():  # this process's peak RSS (VmHWM; ru_maxrss would include the parent's before exec)
    with open("/proc/self/status") as f:
        return int(next(x for x in f if x.startswith("VmHWM:")).split()[1])
class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function_name
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def __init__(self):
        self._deadline = time.time() + 900
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.time()) * 1000)
events = json.loads(sys.stdin.read())
if os.environ["BENCH_MODE"] == "function":
    import app
    for _builder in ("_deps", "_wired"):  # the function's cold-start work (its dependencies, built once)
        if hasattr(app, _builder):
            getattr(app, _builder)()
    handler = app.lambda_handler
    from igpub.repositories import aws as _aws
    _take, _total = _aws.take_request_counts, {}
    def _counting():
        c = _take()
        for k, v in c.items():
            _total[k] = _total.get(k, 0) + v
        return c
    _aws.take_request_counts = _counting
else:
    ns = {}
    exec(os.environ["BENCH_FLOOR_CODE"], ns)
    handler = ns["handler"]
t_init = time.time() - t0
cpu_init = sum(os.times()[:2])
rss_init = hwm_kb()
results, t_result = [], None
for ev in events:
    r = handler(ev, Context())
    if t_result is None:
        t_result = time.time() - t0
        cpu_result = sum(os.times()[:2])
    tries = 0
    while isinstance(r, dict) and r.get("wait_s") and ev.get("step") in ("create", "check") and tries < 60:
        time.sleep(min(float(r["wait_s"]), 1.0))  # a Wait state, compressed
        r, tries = handler(ev, Context()), tries + 1
    if isinstance(r, dict) and "refreshed" in r:
        results.append(f"refreshed {r['refreshed']}, failed {r.get('failed')}")
    elif isinstance(r, dict) and "collected" in r:
        results.append(f"collected {r['collected']}, failed {r.get('failed')}")
    else:
        results.append(r.get("status", r.get("statusCode", "ok")) if isinstance(r, dict) else str(r)[:40])
counts = {}
if os.environ["BENCH_MODE"] == "function":
    _counting()
    counts = {k.split("@")[0]: v for k, v in _total.items()}
sys.stdout.write("BENCH " + json.dumps({"init_s": t_init, "result_s": t_result, "rss_init_kb": rss_init,
    "cpu_init_s": cpu_init, "cpu_result_s": cpu_result,
    "rss_peak_kb": hwm_kb(), "results": results,
    "aws_requests": counts}) + "\n")
'''

BARE_FLOOR = """
import boto3
_ddb = boto3.client("dynamodb")
def handler(event, context):
    _ddb.get_item(TableName=__import__("os").environ["IGPUB_ACCOUNTS_TABLE"], Key={"account_id": {"S": "floor"}})
    return {"status": "ok"}
"""


def libraries_floor(utilities: list[str]) -> str:
    """The libraries floor of a function using these Powertools utilities (see the module doc)."""
    lines = [
        "import os",
        "import boto3, httpx, pydantic",
        "from aws_lambda_powertools import Logger, Metrics, Tracer",
        "logger = Logger(service='floor')",
        "metrics = Metrics(namespace='floor', service='floor')",
        "tracer = Tracer(service='floor')",
        "class Event(pydantic.BaseModel):",
        "    model_config = pydantic.ConfigDict(extra='allow')",
        "    step: str | None = None",
        "_http = httpx.Client()",
        "_ddb = boto3.client('dynamodb')",
    ]
    wrap = ["@tracer.capture_lambda_handler", "@logger.inject_lambda_context",
            "@metrics.log_metrics(raise_on_empty_metrics=False)"]
    body = ["    event = Event.model_validate(event)"]
    if "parser" in utilities:
        lines.append("from aws_lambda_powertools.utilities.parser import event_parser")
        wrap.append("@event_parser(model=Event)")
        body = []
    if "idempotency" in utilities:
        lines += [
            "from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig",
            "_persistence = DynamoDBPersistenceLayer(table_name=os.environ['IGPUB_IDEMPOTENCY_TABLE'])",
            "_idem_config = IdempotencyConfig()",
        ]
    if "parameters" in utilities:
        lines.append("from aws_lambda_powertools.utilities import parameters")
    call = ["    _ddb.get_item(TableName=os.environ['IGPUB_ACCOUNTS_TABLE'], Key={'account_id': {'S': 'floor'}})"]
    if "event_handler" in utilities:
        lines += [
            "from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response",
            "_app = APIGatewayRestResolver()",
            "@_app.get('/connect')",
            "@_app.post('/webhooks/instagram')",
            "def _route():",
            *call,
            "    return Response(status_code=302, headers={'Location': 'https://example.com'}, body='')",
        ]
        body, call = [], ["    return _app.resolve(event, context)"]
    else:
        call.append("    return {'status': 'ok'}")
    return "\n".join([*lines, *wrap, "def handler(event, context):", *body, *call, ""])


def runtime_deps() -> Path:
    marker = RUNTIME_DEPS / ".done"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
             str(RUNTIME_DEPS), RUNTIME_BOTO3],
            check=True,
        )
        marker.touch()
    return RUNTIME_DEPS


def functions() -> list[str]:
    # the functions with a sample event here (MetaCallbacksFunction and DataDeletionFunction are not measured yet)
    return sorted(p.name for p in BUILD.glob("*Function") if p.name in SAMPLE_EVENTS) if BUILD.exists() else []


def function_env(dep: Any, logical: str) -> dict[str, str]:
    """The deployed function's environment, pointed at the local stack."""
    from bench import common

    name = common.function_name(dep, logical)
    cfg = dep.client("lambda").get_function_configuration(FunctionName=name)
    return {
        **cfg.get("Environment", {}).get("Variables", {}),
        "AWS_ENDPOINT_URL": dep.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # the same work, less output to read
        "POWERTOOLS_METRICS_DISABLED": "false",
    }


def probe(mode: str, path: list[Path], env: dict[str, str], events: list[dict[str, Any]],
          floor_code: str = "", timeout_s: float = 1200) -> dict[str, Any]:
    """One fresh interpreter: its init and first-result times (s), RSS (kB), results."""
    full = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)),
            "PYTHONDONTWRITEBYTECODE": "1", **env, "BENCH_MODE": mode,
            "BENCH_FLOOR_CODE": floor_code}
    full["BENCH_T0"] = repr(time.time())
    proc = subprocess.run([sys.executable, "-S", "-c", PROBE], env=full, capture_output=True, text=True,
                          cwd="/", timeout=timeout_s, input=json.dumps(events))
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"cold start run failed ({mode}):\n{proc.stderr[-3000:]}")
    return dict(json.loads(line[6:]))


def signed(dep: Any, event: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    """A webhook delivery (events/webhooks_comment.json's shape) with this body, signed with the deployed app
    secret as Meta signs them (X-Hub-Signature-256), so the function takes its real path."""
    secret = dep.client("secretsmanager").get_secret_value(SecretId=dep.output("AppSecretArn"))["SecretString"]
    body = event["body"] if body is None else body
    sig = "sha256=" + hmac.new(str(secret).encode(), body.encode(), hashlib.sha256).hexdigest()
    return {**event, "body": body, "headers": {**event["headers"], "X-Hub-Signature-256": sig},
            "multiValueHeaders": {**event["multiValueHeaders"], "X-Hub-Signature-256": [sig]}}


def sample_event(logical: str, dep: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / SAMPLE_EVENTS[logical]).read_text())
    if "post_id" in event:  # every run claims a new post: the same work each time
        event["post_id"] = uuid.uuid4().hex[:16]
    if dep is not None and "X-Hub-Signature-256" in (event.get("headers") or {}):
        event = signed(dep, event)
    return event


def _stats(xs: list[float]) -> dict[str, int]:
    return {"median_ms": round(statistics.median(xs) * 1000), "min_ms": round(min(xs) * 1000)}


def measure(dep: Any, runs: int = 7) -> dict[str, Any]:
    """Per function: init and first result (median, min), against both floors, interleaved."""
    deps = runtime_deps()
    layer = BUILD / "IgpubLayer" / "python"
    names = [n for n in functions() if n in SAMPLE_EVENTS]
    if not names:
        raise RuntimeError("nothing built in .aws-sam/build: run `make up` (or `make deploy`) first")
    envs = {n: function_env(dep, n) for n in names}
    kinds = ("bare", "libraries", "function")
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        n: {k: {"init": [], "result": []} for k in kinds} for n in names}
    requests: dict[str, dict[str, int]] = {}
    rss: dict[str, int] = dict.fromkeys(names, 0)
    cpu: dict[str, list[float]] = {n: [] for n in names}
    results: dict[str, list[Any]] = {}
    for _ in range(runs):
        for n in names:
            ev = sample_event(n, dep)
            for kind in kinds:
                if kind == "bare":
                    r = probe("floor", [deps], envs[n], [ev], BARE_FLOOR)
                elif kind == "libraries":
                    r = probe("floor", [layer, deps], envs[n], [ev], libraries_floor(UTILITIES[n]))
                else:
                    r = probe("function", [BUILD / n, layer, deps], envs[n], [ev])
                    requests[n], results[n] = r["aws_requests"], r["results"]
                    rss[n] = max(rss[n], r["rss_peak_kb"])
                    cpu[n].append(r["cpu_result_s"])
                samples[n][kind]["init"].append(r["init_s"])
                samples[n][kind]["result"].append(r["result_s"])
    out: dict[str, Any] = {}
    for n in names:
        s = samples[n]
        f: dict[str, Any] = {"sample_event": f"events/{SAMPLE_EVENTS[n]}", "result": results[n][0],
                             "powertools_utilities": ["logger", "metrics", *UTILITIES[n]],
                             "aws_requests": requests[n], "rss_peak_kb": rss[n],
                             "cpu_to_first_result_ms": _stats(cpu[n])}
        for phase in ("init", "result"):
            for kind in kinds:
                f[f"{phase}_{kind}"] = _stats(s[kind][phase])
            for floor in ("bare", "libraries"):
                fn, fl = s["function"][phase], s[floor][phase]
                f[f"{phase}_ratio_to_{floor}"] = {
                    "median": round(statistics.median(fn) / statistics.median(fl), 2),
                    "min": round(min(fn) / min(fl), 2),
                }
        out[n] = f
    return {
        "runs": runs,
        "method": "fresh `python -S` per run, interleaved bare/libraries/function; init = module imported "
                  "and cold-start work done; result = first invocation of the sample event returned "
                  "(both from interpreter start), against the local stack",
        "bare_floor": "import boto3; one DynamoDB client; result: one GetItem",
        "libraries_floor": "bare + pydantic model + httpx.Client + Powertools Logger/Metrics decorators + the "
                           "function's Powertools utilities; result: event validated, one GetItem",
        "functions": out,
    }


def importtime(function: str, top: int = 12) -> list[tuple[str, float]]:
    """The modules (by top-level package) that the function imports beyond the libraries floor, slowest first."""
    deps = runtime_deps()
    layer = BUILD / "IgpubLayer" / "python"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1",
           "POWERTOOLS_SERVICE_NAME": "igpub", "POWERTOOLS_METRICS_NAMESPACE": "igpub"}

    def run(code: str, path: list[Path]) -> dict[str, int]:
        proc = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", code], cwd="/",
                              env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
                              capture_output=True, text=True, check=True)
        out: dict[str, int] = {}
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                self_us, _cum, name = line.split(":", 1)[1].split("|")
                out[name.strip()] = int(self_us)
        return out

    floor_code = libraries_floor(UTILITIES.get(function, [])).replace("os.environ['IGPUB_IDEMPOTENCY_TABLE']", "'t'")
    floor = run(floor_code.split("\n@")[0], [layer, deps])
    fn = run("import app", [BUILD / function, layer, deps])
    groups: dict[str, int] = {}
    for name, us in fn.items():
        if name not in floor:
            deep = name.startswith(("igpub", "aws_lambda_powertools"))
            key = ".".join(name.split(".")[:2]) if deep else name.split(".")[0]
            groups[key] = groups.get(key, 0) + us
    return [(k, round(v / 1000, 1)) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])[:top]]


if __name__ == "__main__":
    from bench import common

    dep_, _fake = common.local_stack()
    runs_ = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(json.dumps(measure(dep_, runs=runs_), indent=2))
    for fn_name in functions():
        print(fn_name, importtime(fn_name))
