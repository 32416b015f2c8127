"""The publish protocol under a model-based test (Hypothesis stateful testing): the real tasks, the state
machine as its JSON routes them, moto's DynamoDB and the fake Instagram's logic in process (see
protocol_model.py). Hypothesis interleaves executions for the same post ids (valid and invalid requests),
runs any pending task of any execution in any order, runs a task again (a lost result), injects Instagram
and AWS faults at any call, advances the clock, cancels and reschedules; after every step the invariants
hold, and once every execution ended each post is published, failed or cancelled.

    make unit, make test                        # bounded (IGPUB_MODEL_EXAMPLES, default 25 below)
    make test-fast                              # the inner loop: 10 examples
    make model                                  # long: IGPUB_MODEL_EXAMPLES=20000 (see the Makefile)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from igpub.publishing.errors import RequestInvalid
from tests.unit.publishing.protocol_model import IG_FAULTS, IG_TARGETS, World, offline_aws, request_for

EXAMPLES = int(os.environ.get("IGPUB_MODEL_EXAMPLES", "25"))
STEPS = int(os.environ.get("IGPUB_MODEL_STEPS", "30"))
POSTS = ("p1", "p2")
VARIANTS = tuple(os.environ.get("IGPUB_MODEL_VARIANTS", "now,comment,scheduled,invalid,no_account,carousel").split(","))


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with offline_aws(monkeypatch):
        yield


class PublishProtocol(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.started = 0

    @initialize(post=st.sampled_from(POSTS), variant=st.sampled_from(VARIANTS))
    def first(self, post: str, variant: str) -> None:
        self.start(post, variant)

    @rule(post=st.sampled_from(POSTS), variant=st.sampled_from(VARIANTS))
    def start(self, post: str, variant: str) -> None:
        self.started += 1
        self.world.start(f"{post}-{self.started}", {"post_id": post, "request": request_for(self.world, variant)})

    @rule(i=st.integers(0, 7))
    def run_step(self, i: int) -> None:
        live = self.world.live()
        if live:
            self.world.run(live[i % len(live)])

    @rule(i=st.integers(0, 7))
    def run_again(self, i: int) -> None:
        done = [e for e in self.world.executions if e.before_last_task is not None]
        if done:
            self.world.run(done[i % len(done)], rerun=True)

    @rule(call=st.sampled_from(IG_TARGETS), kind=st.sampled_from(IG_FAULTS))
    def instagram_fault(self, call: str, kind: str) -> None:
        self.world.arm_ig_fault(call, kind)

    @rule(nth=st.integers(0, 6), when=st.sampled_from(("before", "after")))
    def aws_fault(self, nth: int, when: str) -> None:
        self.world.arm_aws_fault(nth, when)

    @rule()
    def revoke_token(self) -> None:
        self.world.revoke_token()

    @rule(seconds=st.sampled_from((1, 5, 30, 61, 119, 121, 600, 3600, 86_400)))
    def advance_clock(self, seconds: int) -> None:
        self.world.advance(seconds)

    @rule(i=st.integers(0, 3))
    def late_request_lands(self, i: int) -> None:
        self.world.land_late(i)

    @rule(post=st.sampled_from(POSTS), stop=st.booleans())
    def cancel(self, post: str, stop: bool) -> None:
        from botocore.exceptions import ClientError

        from igpub_cli import api

        try:
            api.cancel_post(self.world.dep, post, stop_execution=stop)  # type: ignore[arg-type]
        except (RequestInvalid, ClientError):
            pass  # refused, or an AWS error the CLI reports (it may have taken effect)

    @rule(post=st.sampled_from(POSTS), in_s=st.sampled_from((0, 60, 900)), stop=st.booleans(),
          start_fails=st.booleans())
    def reschedule(self, post: str, in_s: int, stop: bool, start_fails: bool) -> None:
        from botocore.exceptions import ClientError

        from igpub_cli import api

        self.world.fail_next_start = start_fails
        at = datetime.fromtimestamp(max(self.world.now, datetime.now(UTC).timestamp()) + in_s, UTC)
        try:
            api.reschedule_post(self.world.dep, post, at, stop_execution=stop)  # type: ignore[arg-type]
        except (RequestInvalid, ClientError, RuntimeError):
            pass  # refused, or an AWS error the CLI reports (e.g. Step Functions did not start the new execution)
        self.world.fail_next_start = False

    @invariant()
    def holds(self) -> None:
        self.world.check()

    def teardown(self) -> None:
        try:
            self.world.drain()
            self.world.check_final()
        finally:
            self.world.close()


@pytest.mark.long
def test_publish_protocol_model() -> None:
    run_state_machine_as_test(
        PublishProtocol,
        settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=EXAMPLES <= 100,
            suppress_health_check=list(HealthCheck), database=None,
        ),
    )
