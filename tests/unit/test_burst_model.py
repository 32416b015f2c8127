"""The burst model (bench/burst_model.py): hand-computed cases, Step Functions' retry rules, the quotas."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from bench import burst_model as bm

# no latency anywhere unless a test sets one: the cases below are worked by hand
ZERO = bm.Timing(step_cpu_s=0.0, cold_start_s=0.0, invoke_overhead_s=0.0, transition_s=0.0, ddb_latency_s=0.0,
                 ig_latency_s={"create": 1.0, "status": 0.5, "publish": 2.0, "permalink": 0.0, "comment": 0.0},
                 image_processing_s=3.0, poll_interval_s=5.0)
NO_QUOTAS = bm.Quotas(account_concurrency=None, other_functions_concurrency=0, scaling_per_10s=None,
                      sfn_bucket=None, ddb_read_units_per_s=None, eventbridge_per_s=None)


def _herd_asl(retrier: dict[str, Any]) -> dict[str, Any]:
    """Prepare, wait for publish_at, one publish task with the given retrier; no Catch records anything."""
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Task", "Resource": "${PublisherFunctionArn}", "Parameters": {"step": "prepare"},
                        "ResultPath": "$.outcome", "Next": "Wait"},
            "Wait": {"Type": "Wait", "TimestampPath": "$.outcome.publish_at", "Next": "Publish"},
            "Publish": {"Type": "Task", "Resource": "${PublisherFunctionArn}", "Parameters": {"step": "publish"},
                        "ResultPath": "$.outcome", "Retry": [retrier],
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                        "Next": "Published"},
            "Published": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "PostFailed"},
        },
    }


def test_one_image_post_hand_computed() -> None:
    """publish_at T: create ends T+1 (ready at T+4), status at T+1.5 says IN_PROGRESS, wait 5 s, the status
    read at T+7 says FINISHED, media_publish ends T+9: 9 s late, through the real state machine."""
    r = bm.Model(bm.load_asl(bm.ASL), NO_QUOTAS, ZERO).burst(1, 1)
    assert r["published"] == 1
    assert r["lateness_s"]["p50"] == pytest.approx(9.0)
    assert r["ends"] == {"Published": 1}
    assert r["retries"] == 0


def test_ready_at_once_publishes_without_polling() -> None:
    fast = replace(ZERO, image_processing_s=0.2)  # FINISHED by the status read 0.5 s after the create
    r = bm.Model(bm.load_asl(bm.ASL), NO_QUOTAS, fast).burst(1, 1)
    assert r["lateness_s"]["p50"] == pytest.approx(1.0 + 0.5 + 2.0)


def test_throttled_retries_without_jitter_synchronise() -> None:
    """100 posts, 10 environments, 2 s per publish, retries at 2, 6 and 14 s without jitter: the herd
    comes back all at once, so each retry wave again gets only 10 through: 40 published, by hand."""
    timing = replace(ZERO, ig_latency_s={**ZERO.ig_latency_s, "publish": 1.0})
    quotas = replace(NO_QUOTAS, publisher_reserved=10)
    plain = {"ErrorEquals": [bm.THROTTLED], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}
    m = bm.Model(_herd_asl(plain), quotas, timing)
    r = m.burst(100, 100)
    assert r["published"] == 40
    assert r["lost"] == 60  # the Catch goes straight to Fail: nothing records these posts
    assert r["lateness_s"]["max"] == pytest.approx(14.0 + 1.0)
    assert r["lambda_throttles"] == 90 + 80 + 70 + 60
    burst_start = min(m.stats.retry_times)
    assert sorted({round(t - burst_start, 6) for t in m.stats.retry_times}) == [0.0, 4.0, 12.0]

    jittered = {**plain, "JitterStrategy": "FULL"}
    mj = bm.Model(_herd_asl(jittered), quotas, timing)
    rj = mj.burst(100, 100)
    assert len({round(t, 6) for t in mj.stats.retry_times}) == len(mj.stats.retry_times)  # spread out
    assert rj["published"] > r["published"]


def test_first_matching_retrier_only() -> None:
    """Step Functions uses the first retrier whose ErrorEquals names the error; once it is spent, the Catch
    applies even if a later States.ALL retrier has attempts left."""
    asl = _herd_asl({"ErrorEquals": [bm.THROTTLED], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1})
    asl["States"]["Publish"]["Retry"].append({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                                              "MaxAttempts": 5})
    timing = replace(ZERO, ig_latency_s={**ZERO.ig_latency_s, "publish": 10.0})
    r = bm.Model(asl, replace(NO_QUOTAS, publisher_reserved=1), timing).burst(3, 3)
    assert r["published"] == 1
    assert r["retries"] == 2  # one each for the two throttled posts, then Catch


def test_retry_delay_rules() -> None:
    rng = random.Random(3)
    r = {"IntervalSeconds": 2, "BackoffRate": 2, "MaxDelaySeconds": 10}
    assert [bm.retry_delay(r, n, rng) for n in range(5)] == [2, 4, 8, 10, 10]
    full = {**r, "JitterStrategy": "FULL"}
    draws = [bm.retry_delay(full, 4, rng) for _ in range(200)]
    assert all(0 <= d <= 10 for d in draws) and max(draws) > 8 and min(draws) < 2


def test_token_bucket_delays_in_order() -> None:
    b = bm.Bucket(5, 5)
    waits = [b.take(0.0) for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.2, 0.4])
    assert bm.Bucket(None, 0).take(0.0, 1e9) == 0.0


def test_step_functions_bucket_delays_transitions_not_posts() -> None:
    quotas = replace(NO_QUOTAS, sfn_bucket=50, sfn_refill_per_s=50)
    r = bm.Model(bm.load_asl(bm.ASL), quotas, ZERO).burst(200, 200)
    assert r["sfn_throttled_transitions"] > 0
    assert r["published"] == 200
    assert r["lateness_s"]["max"] > 9.0 + 10  # 200 posts x 11 transitions at 50/s: tens of seconds


def test_publishing_limit_per_account() -> None:
    quotas = replace(NO_QUOTAS, ig_posts_per_24h=5, ig_hourly_call_budget=10_000)
    r = bm.Model(bm.load_asl(bm.ASL), quotas, ZERO).burst(8, 1)
    late = r["lateness_s"]
    assert r["published"] == 8
    assert late["p50"] < 60 and late["max"] > 86_000  # 3 posts wait for a slot in the 24 h window


def test_unknown_step_is_an_error_not_a_guess() -> None:
    asl = _herd_asl({"ErrorEquals": [bm.THROTTLED], "MaxAttempts": 1})
    asl["States"]["Publish"]["Parameters"] = {"step": "teleport"}
    with pytest.raises(ValueError, match="teleport"):
        bm.Model(asl, NO_QUOTAS, ZERO).burst(1, 1)


def test_local_check_rows_cover_the_readme_runs() -> None:
    rows = bm.local_check()  # the definition the measured runs used
    assert [(r["posts"], r["accounts"], r["environments"]) for r in rows] == [
        (25, 5, "cold"), (50, 10, "cold"), (50, 10, "warm"), (100, 10, "warm")]
    for r in rows:
        assert r["model_published"] == r["posts"]
        # the model stays within a factor 1.5 of each measured p50, fitted rows and checked rows alike
        assert 1 / 1.5 < r["model"]["p50"] / r["measured"]["p50"] < 1.5


def test_hourly_call_budget_per_account() -> None:
    """5 posts on one account with a budget of 20 calls: 5 creates (create + status: 10 calls), then each
    poll finds the image FINISHED and publishes in the same task (status, media_publish, permalink: 3 calls):
    3 posts fit (19 calls), the 4th and 5th wait for calls to leave the rolling hour."""
    quotas = replace(NO_QUOTAS, ig_hourly_call_budget=20)
    r = bm.Model(bm.load_asl(bm.ASL), quotas, ZERO).burst(5, 1)
    assert r["published"] == 5
    assert r["ig_rate_limited"] >= 1
    assert r["lateness_s"]["p50"] < 60 and r["lateness_s"]["max"] > 3000


def _lambda_tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in asl["States"].items()
            if s["Type"] == "Task" and "PublisherFunctionArn" in str(s.get("Resource", ""))}


def test_every_lambda_task_retries_throttling_with_jitter_and_a_cap() -> None:
    """The burst's defence: a throttled task comes back at a random moment (no synchronised herd), at most
    MaxDelaySeconds later, for long enough to outlast the modelled burst."""
    asl = bm.load_asl(bm.ASL)
    for name, st in _lambda_tasks(asl).items():
        retriers = [r for r in st.get("Retry", []) if bm.THROTTLED in r["ErrorEquals"]]
        assert retriers, f"{name} does not retry {bm.THROTTLED} by name"
        first = next(r for r in st["Retry"] if bm._matches(r["ErrorEquals"], bm.THROTTLED))
        assert first is retriers[0], f"{name}: an earlier retrier takes {bm.THROTTLED}"
        for err in ("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"):
            assert err in first["ErrorEquals"], (name, err)
        assert first.get("JitterStrategy") == "FULL", name
        assert 0 < first.get("MaxDelaySeconds", 0) <= 30, name
        assert first["MaxAttempts"] >= 20, name


def test_recording_a_failure_never_loses_the_post() -> None:
    """RecordFailure/RecordUnexpected end in a last-resort write of the post's record that needs no Lambda."""
    asl = bm.load_asl(bm.ASL)
    for name in ("RecordFailure", "RecordUnexpected"):
        catch = asl["States"][name].get("Catch", [])
        assert any("States.ALL" in c["ErrorEquals"] for c in catch), name
        last = asl["States"][catch[0]["Next"]]
        assert last["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        assert "NOT #s IN (:published, :cancelled)" in last["Parameters"]["ConditionExpression"]
    # in the model: the publisher never runs (reserved concurrency 0 after Prepare): every post is recorded
    m = bm.Model(asl, replace(NO_QUOTAS, publisher_reserved=1), replace(ZERO, ig_latency_s={
        **ZERO.ig_latency_s, "create": 100000.0}))
    r = m.burst(30, 30)
    assert r["failed"] == r["failed_recorded"] and r["lost"] == 0


def test_the_burst_goal_holds_with_the_recommended_quotas() -> None:
    """The README's goal: 10,000 posts over 1,000 accounts at one minute, with the quotas it says to request."""
    q, t, _ = bm.PROFILES["aws-raised"]
    r = bm.run_one(bm.load_asl(bm.ASL), q, t, 10_000, 1_000)
    assert r["failed"] == 0 and r["lost"] == 0
    assert r["lateness_s"]["p95"] < 60


def test_the_old_definition_loses_posts_at_that_burst() -> None:
    """Without jitter (the definition before issue 24), the same burst fails thousands of posts: the model
    can tell the two apart, so the test above is not vacuous."""
    asl = bm.load_asl(bm.ASL)
    for st in asl["States"].values():
        for r in st.get("Retry", []):
            r.pop("JitterStrategy", None)
            r.pop("MaxDelaySeconds", None)
            if bm.THROTTLED in r["ErrorEquals"]:
                r["MaxAttempts"], r["IntervalSeconds"] = 3, 2
    q, t, _ = bm.PROFILES["aws-raised"]
    r = bm.run_one(asl, q, t, 10_000, 1_000)
    assert r["failed"] > 1_000
