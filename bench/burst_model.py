"""`make burst-model`: the 9 o'clock burst at sizes this machine cannot run, as a discrete-event simulation.

    python -m bench.burst_model [--profile aws-default|aws-raised|local|all] [--sizes 1000/100,10000/1000]
                                [--asl statemachine/publish.asl.json] [--seed 1] [--json burst-model-results.json]
                                [--check-local]

Each post is one execution of the deployed state machine's *own* definition (``--asl``, default
``statemachine/publish.asl.json``): the model walks its states (Task, Choice, Wait, Succeed, Fail), applies
each Task's ``Retry`` (first matching retrier, ``IntervalSeconds``, ``BackoffRate``, ``MaxAttempts``,
``MaxDelaySeconds``, ``JitterStrategy``) and ``Catch`` exactly as Step Functions documents them
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), and evaluates the Choice
rules against the outcome each task returns. What the tasks do is igpub's publisher in miniature
(:class:`Steps`): the Instagram calls each step makes, the DynamoDB requests, the CPU time; an image post
is created, its status read, polled after ``StatusPollIntervalSeconds`` while Instagram processes it, then
published.

The quotas are parameters (:class:`Quotas`), with AWS's documented defaults:

* Lambda: account concurrency (1,000 per Region by default,
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), the publisher's reserved
  concurrency (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), and the scaling
  rate: each function gains at most 1,000 new execution environments every 10 seconds, refilled
  continuously (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html). An invocation that
  finds no idle environment and no concurrency or scaling headroom is throttled at once (429,
  ``Lambda.TooManyRequestsException`` in Step Functions).
* Step Functions Standard: state transitions are a token bucket per account and Region (bucket 5,000,
  refill 5,000 per second in us-east-1, us-west-2 and eu-west-1; 800/800 elsewhere; new accounts start
  lower): https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (quotas related to state
  throttling). A throttled transition is delayed, not failed; retries take a transition too.
* DynamoDB on-demand: a new table serves up to 4,000 write and 12,000 read request units per second (or a
  linear mix), and instantly twice its previous peak:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html. A throttled
  request is retried by boto3 (standard mode, 4 attempts, igpub.repositories.aws); past that the task fails
  with ``AwsTransientError``, which the state machine retries.
* EventBridge PutEvents: 10,000 per second in us-east-1 (soft):
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html.
* Instagram: igpub's per-account budget (``HourlyCallBudget``, 200 calls per rolling hour) and the publishing
  limit (``content_publishing_limit``: 100 posts per 24 h, 50 in some of Meta's pages),
  https://developers.facebook.com/docs/instagram-platform/content-publishing. The call latencies are
  assumptions (Meta publishes none); image processing defaults to 3 s as in ``make burst``.

Task durations: igpub's own work per step is ``make bench``'s measured figure (an image post's 4 warm
invocations bill 0.2 s in all on the local stack: its Lambda cost, $0.00143 per 1,000 posts at 192 MB, less
the request charge), plus each Instagram call's latency, each DynamoDB request's latency, and a cold start
(``make bench``'s publisher cold start, 0.79 s to its first result on this machine, scaled to Lambda's CPU
share at 192 MB as a parameter).

``--check-local`` runs the same model with the local stack's parameters (no Lambda, Step Functions or
DynamoDB quota; the 2-core machine's CPU shared by every cold start and step; the emulator's single process)
at the sizes of the README's ``make burst`` runs and prints both side by side.

Writes ``burst-model-results.json`` (git-ignored) and prints a table. Exit 1 if a "must hold" scenario
(``aws-raised`` at 10,000 posts over 1,000 accounts) misses p95 < 60 s or loses/fails a post.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASL = ROOT / "statemachine" / "publish.asl.json"
RESULTS = ROOT / "burst-model-results.json"
INF = float("inf")

THROTTLED = "Lambda.TooManyRequestsException"
AWS_TRANSIENT = "AwsTransientError"
EVENTS_THROTTLED = "EventBridge.ThrottlingException"


@dataclass(frozen=True)
class Quotas:
    """What the cloud lets the burst do. ``None`` = no such limit (the local emulator)."""

    account_concurrency: int | None = 1000
    other_functions_concurrency: int = 50  # webhooks, engagement, OAuth in flight at 9:00 (unreserved pool)
    publisher_reserved: int | None = None  # ReservedConcurrentExecutions of the publisher
    scaling_per_10s: int | None = 1000  # new environments per function per 10 s, refilled continuously
    sfn_bucket: float | None = 5000
    sfn_refill_per_s: float = 5000
    ddb_read_units_per_s: float | None = 12000  # a new on-demand table; writes cost 3 read units of capacity
    ddb_write_units_per_s: float = 4000
    eventbridge_per_s: float | None = 10000
    ig_hourly_call_budget: int = 200  # igpub's HourlyCallBudget per account
    ig_posts_per_24h: int = 100  # content_publishing_limit (50 in Meta's older pages)


@dataclass(frozen=True)
class Timing:
    """How long things take, in seconds."""

    step_cpu_s: float = 0.05  # igpub's own work per invocation (make bench: 4 warm invocations bill 0.2 s)
    cold_start_s: float = 2.0  # INIT of a new publisher environment on Lambda at 192 MB (bench: 0.79 s on a full core)
    invoke_overhead_s: float = 0.03  # Step Functions -> Lambda and back
    transition_s: float = 0.01  # Step Functions' own time per state
    ddb_latency_s: float = 0.006
    ddb_retry_budget_s: float = 3.5  # boto3 standard mode, 4 attempts: expected backoff before it gives up
    ig_latency_s: dict[str, float] = field(default_factory=lambda: {
        "create": 1.0, "status": 0.25, "publish": 1.5, "permalink": 0.25, "comment": 0.5})
    image_processing_s: float = 3.0
    poll_interval_s: float = 5.0  # StatusPollIntervalSeconds
    poll_in_task_s: float = 20.0  # StatusPollInTaskSeconds (CheckContainers, since issue 24)
    eventbridge_s: float = 0.05
    # the local stack only: CPU shared by every running invocation (processor sharing), None on AWS
    cpu_cores: float | None = None
    cold_start_cpu_s: float = 0.0  # CPU work of a cold start when cpu_cores is set (replaces cold_start_s)
    evict_before_publish_at: bool = True  # a quiet night: no warm environment at 9:00


# Per step: Instagram calls (in order) and DynamoDB requests (reads, writes) of igpub's publisher. From
# igpub.publishing (create: claim, containers, status; publish: attempt mark, record) and make bench's
# count of about 20 DynamoDB requests per image post over its 4 invocations.
STEP_WORK: dict[str, tuple[tuple[str, ...], int, int]] = {
    "prepare": ((), 3, 2),
    "create": (("create", "status"), 3, 4),
    "check": (("status",), 2, 2),
    "publish": (("publish", "permalink"), 3, 3),
    "first_comment": ((), 1, 0),
    "fail": ((), 1, 2),
}
WCU_PER_WRITE = 3  # the post record (about 1.1 KB: 2 WRU) and the usage counters (1 WRU), on average


@dataclass
class Post:
    i: int
    account: int
    publish_at: float
    has_comment: bool = False
    ready_at: float = INF  # when Instagram finishes processing the container
    published_at: float | None = None
    recorded_failed: bool = False
    end: str = ""  # the terminal state, or "lost" (the execution failed with no record)
    transitions: int = 0
    retries: int = 0
    status_checks: int = 0


@dataclass
class Stats:
    lambda_throttles: int = 0
    ddb_throttled_tasks: int = 0
    eventbridge_throttles: int = 0
    sfn_throttled_transitions: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    retry_times: list[float] = field(default_factory=list)
    cold_starts: int = 0
    invocations: int = 0
    peak_concurrency: int = 0
    ig_rate_limited: int = 0


class OverBudget(Exception):
    def __init__(self, call: str, at: float, wait_s: float) -> None:
        super().__init__(call)
        self.call, self.at, self.wait_s = call, at, wait_s


class Bucket:
    """A token bucket with reservations: take() answers how long the caller waits for its tokens."""

    def __init__(self, size: float | None, refill_per_s: float) -> None:
        self.size, self.rate = size, refill_per_s
        self.tokens, self.t = (size or 0.0), 0.0

    def _fill(self, now: float) -> None:
        if self.size is not None and now > self.t:
            self.tokens = min(self.size, self.tokens + (now - self.t) * self.rate)
            self.t = now

    def take(self, now: float, n: float = 1.0) -> float:
        if self.size is None:
            return 0.0
        self._fill(now)
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def available(self, now: float) -> float:
        if self.size is None:
            return INF
        self._fill(now)
        return self.tokens


class CPU:
    """Processor sharing: every running job gets min(1, cores / jobs) of a core (the local machine)."""

    def __init__(self, sim: Sim, cores: float) -> None:
        self.sim, self.cores = sim, cores
        self.jobs: dict[int, list[Any]] = {}  # id -> [remaining work, callback]
        self.t, self.version, self.next_id = 0.0, 0, 0

    def _rate(self) -> float:
        return min(1.0, self.cores / len(self.jobs)) if self.jobs else 0.0

    def _advance(self, now: float) -> None:
        r = self._rate()
        for j in self.jobs.values():
            j[0] -= (now - self.t) * r
        self.t = now

    def _schedule(self) -> None:
        self.version += 1
        if self.jobs:
            jid, job = min(self.jobs.items(), key=lambda kv: kv[1][0])
            v = self.version
            self.sim.at(self.t + max(0.0, job[0]) / self._rate(), lambda: self._done(jid, v))

    def _done(self, jid: int, version: int) -> None:
        if version != self.version:
            return
        self._advance(self.sim.now)
        cb = self.jobs.pop(jid)[1]
        self._schedule()
        cb()

    def run(self, work: float, cb: Callable[[], None]) -> None:
        self._advance(self.sim.now)
        self.next_id += 1
        self.jobs[self.next_id] = [work, cb]
        self._schedule()


class Sim:
    def __init__(self) -> None:
        self.now = 0.0
        self.q: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = 0

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.q, (max(t, self.now), self.seq, fn))

    def run(self, until: float = INF) -> None:
        while self.q and self.q[0][0] <= until:
            self.now, _, fn = heapq.heappop(self.q)
            fn()


def _get(doc: dict[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def choice_matches(rule: dict[str, Any], doc: dict[str, Any]) -> bool:
    """The Choice rule operators the state machine uses (and a few more); unknown ones raise."""
    if "And" in rule:
        return all(choice_matches(r, doc) for r in rule["And"])
    if "Or" in rule:
        return any(choice_matches(r, doc) for r in rule["Or"])
    if "Not" in rule:
        return not choice_matches(rule["Not"], doc)
    v = _get(doc, rule["Variable"])
    for op, want in rule.items():
        if op in ("Variable", "Next"):
            continue
        if op == "StringEquals":
            return bool(v == want)
        if op == "BooleanEquals":
            return v is want
        if op == "IsPresent":
            return (v is not None) is want
        if op == "IsNull":
            return (v is None) is want
        if op == "NumericGreaterThan":
            return isinstance(v, int | float) and v > want
        raise ValueError(f"Choice operator {op} is not modelled")
    raise ValueError(f"Choice rule without an operator: {rule}")


def retry_delay(retrier: dict[str, Any], attempt: int, rng: random.Random) -> float:
    """Step Functions' delay before retry number ``attempt`` (0-based) of a retrier."""
    d = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** attempt
    if "MaxDelaySeconds" in retrier:
        d = min(d, float(retrier["MaxDelaySeconds"]))
    if retrier.get("JitterStrategy") == "FULL":
        d = rng.uniform(0.0, d)
    return d


def _matches(names: list[str], error: str) -> bool:
    return error in names or "States.ALL" in names or (error.startswith("States.") and "States.ALL" in names)


class Model:
    """One burst: N posts over M accounts, one publish_at, walked through the ASL."""

    def __init__(self, asl: dict[str, Any], quotas: Quotas, timing: Timing, *, seed: int = 1) -> None:
        self.asl, self.q, self.tm = asl, quotas, timing
        self.rng = random.Random(seed)
        self.sim = Sim()
        self.stats = Stats()
        self.sfn = Bucket(quotas.sfn_bucket, quotas.sfn_refill_per_s)
        ddb_size = quotas.ddb_read_units_per_s
        self.ddb = Bucket(ddb_size, ddb_size or 0.0)
        self.events = Bucket(quotas.eventbridge_per_s, quotas.eventbridge_per_s or 0.0)
        scale = quotas.scaling_per_10s
        self.scaling = Bucket(scale, (scale or 0) / 10.0)
        self.cpu = CPU(self.sim, timing.cpu_cores) if timing.cpu_cores else None
        self.idle_envs = 0
        self.busy = 0
        self.calls: dict[int, list[float]] = {}  # each account's Instagram call times (the rolling hour)
        self.published: dict[int, list[float]] = {}  # each account's publish times (the rolling 24 h window)
        self.posts: list[Post] = []
        # definitions since issue 24 route "published_comment" to the first-comment states
        self.comment_status = any("published_comment" in self._routes(n) for n in asl["States"])

    # --- Lambda -----------------------------------------------------------------------------------
    def _limit(self) -> float:
        q = self.q
        if q.publisher_reserved is not None:
            return q.publisher_reserved
        if q.account_concurrency is None:
            return INF
        return q.account_concurrency - q.other_functions_concurrency

    def _acquire(self) -> bool | None:
        """True: a new (cold) environment, False: a warm one, None: throttled."""
        if self.idle_envs > 0:
            self.idle_envs -= 1
            self.busy += 1
            return False
        if self.busy >= self._limit() or self.scaling.available(self.sim.now) < 1:
            return None
        self.scaling.take(self.sim.now)
        self.busy += 1
        self.stats.cold_starts += 1
        return True

    def _release(self) -> None:
        self.busy -= 1
        self.idle_envs += 1

    def _cpu(self, work: float, cb: Callable[[], None]) -> None:
        if self.cpu is None:
            self.sim.at(self.sim.now + work, cb)
        else:
            self.cpu.run(work, cb)

    # --- the publisher's steps ----------------------------------------------------------------------
    def _invoke(self, post: Post, params: dict[str, Any], done: Callable[[dict[str, Any] | None, str | None], None]
                ) -> None:
        tm = self.tm
        self.stats.invocations += 1
        cold = self._acquire()
        if cold is None:
            self.stats.lambda_throttles += 1
            self.sim.at(self.sim.now + tm.invoke_overhead_s, lambda: done(None, THROTTLED))
            return
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, self.busy)
        step = params["step"]
        if step not in STEP_WORK:
            raise ValueError(f"the model does not know the publisher step {step!r}: add it to STEP_WORK")
        ig_calls, reads, writes = STEP_WORK[step]

        def after_cpu() -> None:
            units = reads + writes * WCU_PER_WRITE
            wait = self.ddb.take(self.sim.now, units)
            if wait > tm.ddb_retry_budget_s:
                self.ddb.take(self.sim.now, -units)  # gave up: the units were never consumed
                self.stats.ddb_throttled_tasks += 1
                self.sim.at(self.sim.now + tm.ddb_retry_budget_s, lambda: finish(None, AWS_TRANSIENT))
                return
            t = self.sim.now + wait + (reads + writes) * tm.ddb_latency_s
            self.sim.at(t, lambda: instagram(list(ig_calls), step))

        def instagram(calls: list[str], step: str) -> None:
            out = self._instagram(post, step, calls, inline=bool(params.get("_inline")))
            if isinstance(out, tuple):  # (seconds the calls took, outcome)
                self.sim.at(self.sim.now + out[0], lambda: finish(out[1], None))

        def finish(outcome: dict[str, Any] | None, error: str | None) -> None:
            self._release()
            self.sim.at(self.sim.now + tm.invoke_overhead_s, lambda: done(outcome, error))

        work = tm.step_cpu_s + (tm.cold_start_cpu_s if cold and self.cpu else 0.0)
        start = tm.invoke_overhead_s + (tm.cold_start_s if cold and not self.cpu else 0.0)
        self.sim.at(self.sim.now + start, lambda: self._cpu(work, after_cpu))

    def _call(self, account: int) -> None:
        self.calls.setdefault(account, []).append(self.sim.now)

    def _instagram(self, post: Post, step: str, calls: list[str], inline: bool = False
                   ) -> tuple[float, dict[str, Any]]:
        """The step's Instagram calls from now on: (their duration, the step's outcome)."""
        tm = self.tm
        if step in ("prepare",):
            return 0.0, {"status": "scheduled", "publish_at": post.publish_at}
        if step == "fail":
            post.recorded_failed = True
            return 0.0, {"status": "failed", "reason": "recorded"}
        if step == "first_comment":
            if post.has_comment:
                self._call(post.account)
                return tm.ig_latency_s["comment"], {"status": "commented", "first_comment_status": "posted"}
            return 0.0, {"status": "commented", "first_comment_status": "none"}
        try:
            return self._instagram_calls(post, step, calls, inline)
        except OverBudget as over:  # igpub's own per-account budget: wait, call nothing more
            self.stats.ig_rate_limited += 1
            status = "retry_create" if over.call == "create" else "rate_limited"
            if inline and over.call in STEP_WORK["publish"][0]:  # the inline publish's own limit (issue 24)
                status = "publish_rate_limited"
            return over.at, {"status": status, "wait_s": over.wait_s}

    def _instagram_calls(self, post: Post, step: str, calls: list[str], inline: bool
                         ) -> tuple[float, dict[str, Any]]:
        tm = self.tm
        t = 0.0
        if step == "publish":
            return self._publish(post, 0.0)
        for c in calls:
            t += self._ig(post, c, t)
        if step in ("create", "check"):
            # the handler of the definitions since issue 24 polls inside CheckContainers for a bounded time
            while (step == "check" and inline and self.sim.now + t < post.ready_at
                   and t + tm.poll_interval_s <= tm.poll_in_task_s):
                t += tm.poll_interval_s
                t += self._ig(post, "status", t)
            if self.sim.now + t >= post.ready_at:
                # ... and publishes in the same invocation once FINISHED
                return self._publish(post, t) if inline else (t, {"status": "finished"})
            return t, {"status": "in_progress", "wait_s": tm.poll_interval_s}
        raise ValueError(f"step {step} has no Instagram behaviour in the model")

    def _ig(self, post: Post, call: str, at: float) -> float:
        """One Instagram call ``at`` seconds into the step: its latency (OverBudget past HourlyCallBudget)."""
        now = self.sim.now + at
        hour = [x for x in self.calls.get(post.account, []) if x > now - 3600]
        self.calls[post.account] = hour
        if len(hour) >= self.q.ig_hourly_call_budget:
            raise OverBudget(call, at, hour[len(hour) - self.q.ig_hourly_call_budget] + 3600 - now + 1)
        self.calls[post.account].append(now)
        took = self.tm.ig_latency_s[call]
        if call == "create":
            post.ready_at = self.sim.now + at + took + self.tm.image_processing_s
        elif call == "status":
            post.status_checks += 1
        elif call == "publish" and post.published_at is None:
            post.published_at = self.sim.now + at + took
            self.published.setdefault(post.account, []).append(post.published_at)
        return took

    def _publish(self, post: Post, t: float) -> tuple[float, dict[str, Any]]:
        now = self.sim.now + t
        window = [x for x in self.published.get(post.account, []) if x > now - 86400]
        self.published[post.account] = window
        if post.published_at is None and len(window) >= self.q.ig_posts_per_24h:
            # content_publishing_limit: wait until the oldest post leaves the window
            t += self._ig(post, "status", t)
            return t, {"status": "quota_full", "wait_s": window[0] + 86400 - now + 5}
        for c in STEP_WORK["publish"][0]:
            t += self._ig(post, c, t)
        status = "published_comment" if post.has_comment and self.comment_status else "published"
        return t, {"status": status, "account_id": post.account, "kind": "image", "media_id": "m", "permalink": "p"}

    # --- the state machine ----------------------------------------------------------------------------
    def _enter(self, post: Post, name: str, doc: dict[str, Any]) -> None:
        delay = self.sfn.take(self.sim.now)
        if delay > 0:
            self.stats.sfn_throttled_transitions += 1
        post.transitions += 1
        self.sim.at(self.sim.now + delay + self.tm.transition_s, lambda: self._run_state(post, name, doc, {}))

    def _routes(self, name: str | None) -> set[str]:
        """The statuses the Choice state ``name`` routes (empty if it is not a Choice)."""
        st = self.asl["States"].get(name or "", {})
        return {r.get("StringEquals", "") for r in st.get("Choices", [])} if st.get("Type") == "Choice" else set()

    def _retry(self, post: Post, name: str, doc: dict[str, Any], attempts: dict[int, int]) -> None:
        self.stats.retry_times.append(self.sim.now)
        delay = self.sfn.take(self.sim.now)  # a retry takes a transition too
        if delay > 0:
            self.stats.sfn_throttled_transitions += 1
        post.transitions += 1
        self.sim.at(self.sim.now + delay, lambda: self._run_state(post, name, doc, attempts))

    def _run_state(self, post: Post, name: str, doc: dict[str, Any], attempts: dict[int, int]) -> None:
        st = self.asl["States"][name]
        typ = st["Type"]
        if typ == "Succeed":
            post.end = name
            return
        if typ == "Fail":
            post.end = name if post.recorded_failed else "lost"
            return
        if typ == "Pass":
            self._enter(post, st["Next"], doc)
            return
        if typ == "Choice":
            nxt = next((r["Next"] for r in st["Choices"] if choice_matches(r, doc)), st.get("Default"))
            if nxt is None:
                post.end = "lost"  # States.NoChoiceMatched
                return
            self._enter(post, nxt, doc)
            return
        if typ == "Wait":
            if "TimestampPath" in st:
                until = float(_get(doc, st["TimestampPath"]))
            elif "SecondsPath" in st:
                until = self.sim.now + float(_get(doc, st["SecondsPath"]))
            elif "Seconds" in st:
                until = self.sim.now + float(st["Seconds"])
            else:
                raise ValueError(f"Wait state {name} is not modelled")
            self.sim.at(until, lambda: self._enter(post, st["Next"], doc))
            return
        if typ != "Task":
            raise ValueError(f"state type {typ} ({name}) is not modelled")

        def done(outcome: dict[str, Any] | None, error: str | None) -> None:
            if error is None:
                rp = st.get("ResultPath", "$")
                new = dict(doc)
                if rp == "$.outcome":
                    new["outcome"] = outcome
                if "Next" in st:
                    self._enter(post, st["Next"], new)
                else:
                    post.end = name
                return
            for i, r in enumerate(st.get("Retry", [])):
                if _matches(r["ErrorEquals"], error):
                    n = attempts.get(i, 0)
                    if n < int(r.get("MaxAttempts", 3)):
                        attempts[i] = n + 1
                        post.retries += 1
                        self.stats.retries[f"{name}: {error}"] += 1
                        d = retry_delay(r, n, self.rng)
                        self.sim.at(self.sim.now + d, lambda: self._retry(post, name, doc, attempts))
                        return
                    break  # the first matching retrier is spent: on to Catch
            for c in st.get("Catch", []):
                if _matches(c["ErrorEquals"], error):
                    new = dict(doc)
                    if c.get("ResultPath") == "$.error":
                        new["error"] = {"Error": error}
                    self._enter(post, c["Next"], new)
                    return
            post.end = "lost" if not post.recorded_failed else "failed-after-record"

        resource = str(st.get("Resource", ""))
        if "events:putEvents" in resource:
            wait = self.events.take(self.sim.now)
            if wait > 0:
                self.events.take(self.sim.now, -1)
                self.stats.eventbridge_throttles += 1
                self.sim.at(self.sim.now + self.tm.eventbridge_s, lambda: done(None, EVENTS_THROTTLED))
            else:
                self.sim.at(self.sim.now + self.tm.eventbridge_s, lambda: done({}, None))
            return
        if ":::dynamodb:" in resource:  # a direct write (RecordLastResort): DynamoDB's capacity, no Lambda
            wait = self.ddb.take(self.sim.now, WCU_PER_WRITE)
            if wait > self.tm.ddb_retry_budget_s:
                self.ddb.take(self.sim.now, -WCU_PER_WRITE)
                self.sim.at(self.sim.now + self.tm.ddb_latency_s, lambda: done(None, "DynamoDB.ThrottlingException"))
                return
            if post.published_at is None:
                post.recorded_failed = True
            self.sim.at(self.sim.now + wait + self.tm.ddb_latency_s, lambda: done({}, None))
            return
        params = {k.removesuffix(".$"): v for k, v in st.get("Parameters", {}).items()}
        params["_inline"] = "published" in self._routes(st.get("Next"))
        self._invoke(post, params, done)

    # --- a burst -------------------------------------------------------------------------------------------
    def burst(self, n_posts: int, n_accounts: int, *, publish_at: float | None = None,
              comment_share: float = 0.0, warm_envs: int = 0) -> dict[str, Any]:
        lead = publish_at if publish_at is not None else max(600.0, n_posts / 20)
        posts = [Post(i, i % n_accounts, lead, has_comment=self.rng.random() < comment_share)
                 for i in range(n_posts)]
        self.posts = posts
        if warm_envs:
            self.sim.at(lead - 0.9, lambda: setattr(self, "idle_envs", warm_envs))
        for p in posts:  # submissions spread over the lead time, as a day's scheduling would be
            self.sim.at(self.rng.uniform(0, lead * 0.8), self._starter(p))
        if self.tm.evict_before_publish_at:
            self.sim.at(lead - 1.0, self._evict)
        self.sim.at(lead - 0.5, self._reset_counters)
        self.sim.run()
        return summarise(posts, self.stats, lead, n_accounts)

    def _starter(self, post: Post) -> Callable[[], None]:
        return lambda: self._enter(post, self.asl["StartAt"], {"post_id": post.i})

    def _evict(self) -> None:
        self.idle_envs = 0

    def _reset_counters(self) -> None:  # count only the burst, not the submissions before it
        self.stats = Stats()
        self.sfn.tokens = self.sfn.size or 0.0
        self.ddb.tokens = self.ddb.size or 0.0
        self.scaling.tokens = self.scaling.size or 0.0
        for p in self.posts:
            p.transitions = 0


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))] if s else math.nan


def summarise(posts: list[Post], st: Stats, publish_at: float, n_accounts: int) -> dict[str, Any]:
    late = [p.published_at - publish_at for p in posts if p.published_at is not None]
    ends = Counter(p.end for p in posts)
    return {
        "posts": len(posts),
        "accounts": n_accounts,
        "published": len(late),
        "failed": sum(1 for p in posts if p.published_at is None),
        "failed_recorded": sum(1 for p in posts if p.published_at is None and p.recorded_failed),
        "lost": sum(1 for p in posts if p.published_at is None and not p.recorded_failed),
        "lateness_s": {"p50": round(pct(late, 50), 1), "p95": round(pct(late, 95), 1),
                       "max": round(max(late), 1) if late else None, "min": round(min(late), 1) if late else None},
        "lambda_throttles": st.lambda_throttles,
        "sfn_throttled_transitions": st.sfn_throttled_transitions,
        "ddb_throttled_tasks": st.ddb_throttled_tasks,
        "eventbridge_throttles": st.eventbridge_throttles,
        "ig_rate_limited": st.ig_rate_limited,
        "retries": sum(st.retries.values()),
        "retries_by_state": dict(st.retries.most_common()),
        "publisher_invocations": st.invocations,
        "cold_starts": st.cold_starts,
        "peak_publisher_concurrency": st.peak_concurrency,
        "transitions_per_post": round(sum(p.transitions for p in posts) / len(posts), 2),
        "ends": dict(ends.most_common()),
    }


# --- profiles ----------------------------------------------------------------------------------------------
PROFILES: dict[str, tuple[Quotas, Timing, str]] = {
    "aws-default": (Quotas(), Timing(),
                    "AWS defaults: 1,000 concurrency (50 used by other functions), no reservation, 5,000 "
                    "transitions/s, new on-demand tables"),
    # what the README asks a team to request before a 10,000-post 9 o'clock (see "Quotas to request")
    "aws-raised": (Quotas(account_concurrency=3000, publisher_reserved=2500, sfn_bucket=10000,
                          sfn_refill_per_s=10000), Timing(),
                   "raised: 3,000 account concurrency with 2,500 reserved for the publisher, 10,000 "
                   "transitions/s bucket and refill"),
}
# The local stack of `make burst`: no quota at all (the emulator has none); CPU is the limit: the burst's
# invocations share the 2 cores with the emulator and the other sessions (load average about 20 in the
# README's runs). step_cpu_s and cold_start_cpu_s are fitted (`--fit`) to two of the README's runs (warm
# 100/10 and cold 50/10); the other two runs of the same day are the check.
LOCAL = (Quotas(account_concurrency=None, other_functions_concurrency=0, scaling_per_10s=None, sfn_bucket=None,
                ddb_read_units_per_s=None, eventbridge_per_s=None),
         Timing(cold_start_s=0.0, invoke_overhead_s=0.05, ddb_latency_s=0.01, cpu_cores=1.0,
                step_cpu_s=0.05, cold_start_cpu_s=1.0, ig_latency_s={
                    "create": 0.02, "status": 0.02, "publish": 0.02, "permalink": 0.02, "comment": 0.02}))
# make burst's measured runs (README, 2026-12-01): size, warm?, lateness p50/p95/max, role in the check
LOCAL_RUNS = [
    (25, 5, False, (30.4, 35.8, 36.0), "check"),
    (50, 10, False, (58.6, 71.5, 71.7), "fit"),
    (50, 10, True, (16.4, 17.0, 17.0), "check"),
    (100, 10, True, (19.5, 20.4, 20.8), "fit"),
]
# the definition those runs used (statemachine/publish.asl.json of 2026-12-01: no jitter, Emit*/FirstComment
# states for every post, no inline publish), so the check compares like with like
LOCAL_RUNS_ASL = ROOT / "bench" / "asl" / "publish-2026-12-01.json"
SIZES = [(1000, 100), (10000, 1000), (100000, 10000)]
MUST_HOLD = ("aws-raised", 10000, 1000)


def load_asl(path: Path) -> dict[str, Any]:
    """The definition with its ${...} substitutions left as they are (the model keys on the step names)."""
    asl: dict[str, Any] = json.loads(path.read_text())
    return asl


def run_one(asl: dict[str, Any], quotas: Quotas, timing: Timing, n: int, m: int, *, seed: int = 1,
            warm: bool = False) -> dict[str, Any]:
    # warm: as the README's warm runs, an idle environment for every post at publish_at
    return Model(asl, quotas, timing, seed=seed).burst(n, m, warm_envs=n if warm else 0)


def local_check(asl: dict[str, Any] | None = None, quotas: Quotas = LOCAL[0], timing: Timing = LOCAL[1],
                seed: int = 1) -> list[dict[str, Any]]:
    asl = asl or load_asl(LOCAL_RUNS_ASL)
    rows = []
    for n, m, warm, measured, role in LOCAL_RUNS:
        r = run_one(asl, quotas, timing, n, m, seed=seed, warm=warm)
        lat = r["lateness_s"]
        rows.append({"posts": n, "accounts": m, "environments": "warm" if warm else "cold", "role": role,
                     "measured": dict(zip(("p50", "p95", "max"), measured, strict=True)),
                     "model": {k: lat[k] for k in ("p50", "p95", "max")}, "model_published": r["published"]})
    return rows


def fit(asl: dict[str, Any]) -> tuple[float, float]:
    """Grid search of the local CPU figures on the runs marked "fit" (least squared relative p50/p95 error)."""
    best = (INF, 0.0, 0.0)
    for step in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12):
        for cold in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4):
            t = replace(LOCAL[1], step_cpu_s=step, cold_start_cpu_s=cold)
            err = 0.0
            for row in local_check(None, LOCAL[0], t):
                if row["role"] == "fit":
                    for k in ("p50", "p95"):
                        err += (row["model"][k] / row["measured"][k] - 1) ** 2
            best = min(best, (err, step, cold))
    return best[1], best[2]


def table(results: dict[str, Any]) -> str:
    lines = [f"igpub burst model - ASL {results['asl']} - seed {results['seed']}", ""]
    hdr = (f"  {'profile':<12}{'posts/accounts':>16}{'p50':>8}{'p95':>8}{'max':>8}{'failed':>8}{'lost':>6}"
           f"{'λ thr.':>8}{'SFN thr.':>9}{'DDB thr.':>9}{'retries':>9}{'peak λ':>8}{'trans/post':>11}")
    lines.append(hdr)
    for r in results["runs"]:
        lat = r["lateness_s"]
        lines.append(f"  {r['profile']:<12}{str(r['posts']) + '/' + str(r['accounts']):>16}{lat['p50']:>8}"
                     f"{lat['p95']:>8}{lat['max'] if lat['max'] is not None else '-':>8}{r['failed']:>8}{r['lost']:>6}"
                     f"{r['lambda_throttles']:>8}{r['sfn_throttled_transitions']:>9}{r['ddb_throttled_tasks']:>9}"
                     f"{r['retries']:>9}{r['peak_publisher_concurrency']:>8}{r['transitions_per_post']:>11}")
    lines.append("  (lateness in s from publish_at to media_publish; failed = not published (lost = not even "
                 "recorded); thr. = throttled Lambda invocations, delayed transitions, DynamoDB tasks failed)")
    for name, (_q, _t, desc) in PROFILES.items():
        lines.append(f"  {name}: {desc}")
    if results.get("local_check"):
        lines += ["", "Checked against make burst (README, 2026-12-01), same model with the local stack's "
                      "parameters: lateness p50 / p95 / max (s)",
                  f"  {'posts/accounts':<16}{'environments':<14}{'measured':>22}{'model':>22}  role"]
        for row in results["local_check"]:
            ms, md = row["measured"], row["model"]
            lines.append(f"  {str(row['posts']) + '/' + str(row['accounts']):<16}{row['environments']:<14}"
                         f"{ms['p50']:>8}/{ms['p95']:>6}/{ms['max']:>6}{md['p50']:>8}/{md['p95']:>6}/{md['max']:>6}"
                         f"  {row['role']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.burst_model", description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="all", choices=[*PROFILES, "all"])
    p.add_argument("--sizes", default=",".join(f"{n}/{m}" for n, m in SIZES))
    p.add_argument("--asl", type=Path, default=ASL)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-local-check", action="store_true")
    p.add_argument("--fit", action="store_true", help="refit the local CPU figures and print them")
    p.add_argument("--json", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    asl = load_asl(args.asl)
    if args.fit:
        step, cold = fit(asl)
        print(f"local fit: step_cpu_s={step} cold_start_cpu_s={cold}")
        return 0
    sizes = [tuple(int(x) for x in s.split("/")) for s in args.sizes.split(",")]
    profiles = list(PROFILES) if args.profile == "all" else [args.profile]
    where = args.asl.relative_to(ROOT) if args.asl.is_relative_to(ROOT) else args.asl
    out: dict[str, Any] = {"asl": str(where), "seed": args.seed, "runs": [],
                           "profiles": {k: {"quotas": asdict(v[0]), "timing": asdict(v[1])}
                                        for k, v in PROFILES.items()}}
    ok = True
    for prof in profiles:
        q, t, _ = PROFILES[prof]
        for n, m in sizes:
            r = run_one(asl, q, t, n, m, seed=args.seed)
            r["profile"] = prof
            out["runs"].append(r)
            if (prof, n, m) == MUST_HOLD and not (r["lateness_s"]["p95"] < 60 and r["failed"] == 0):
                ok = False
    if not args.skip_local_check:
        out["local_check"] = local_check(seed=args.seed)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(table(out))
    print(f"\n(wrote {args.json.name})")
    if not ok:
        print(f"MISSED: {MUST_HOLD[0]} at {MUST_HOLD[1]}/{MUST_HOLD[2]} must publish every post with p95 < 60 s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
