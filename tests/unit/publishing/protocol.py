"""A small world for driving the publish protocol's real task functions: the real InstagramClient against
the fake Instagram (in process, real HTTP), the posts table in moto's DynamoDB (condition expressions
honoured), an account with a token. Executions are driven step by step, in any order, by the tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fakeig import oauth
from fakeig.testing import FakeInstagram
from igpub.accounts import Account
from igpub.config import Settings
from igpub.instagram.client import InstagramClient
from igpub.publishing import first_comment, workflow
from igpub.publishing.outcome import Outcome
from igpub.repositories.posts import PostRecord, PostRepository
from tests.unit.dynamo import tables
from tests.unit.instagram.usage_doubles import InMemoryUsageGuard

SCOPES = ["instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_comments",
          "instagram_business_manage_insights"]


class Accounts:
    def __init__(self, account: Account) -> None:
        self.account = account

    def get(self, account_id: str) -> Account | None:
        return self.account if account_id == self.account.account_id else None


class Cipher:
    def __init__(self, token: str) -> None:
        self.token = token

    def decrypt(self, blob: bytes, *, account_id: str) -> str:
        return self.token


@dataclass
class World:
    fake: FakeInstagram
    posts: PostRepository
    deps: workflow.Deps
    ig_id: str
    clock: list[float] = field(default_factory=lambda: [1_800_000_000.0])

    def request(self, caption: str = "hello", **extra: Any) -> dict[str, Any]:
        return {"account_id": self.ig_id, "kind": "image", "caption": caption,
                "media": [{"url": self.fake.url("cdn", "/image.jpg?w=1080&h=1350")}], **extra}

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds
        self.fake.advance(seconds)

    def rec(self, post_id: str) -> PostRecord:
        rec = self.posts.get(post_id)
        assert rec is not None
        return rec

    def run(self, post_id: str, execution_id: str, request: dict[str, Any] | None = None) -> list[Outcome]:
        """One execution as the state machine runs it (waits skipped by advancing the clock); the outcomes."""
        out = [workflow.prepare(self.deps, post_id, request or self.request(), execution_id)]
        step = {"ready": "create", "scheduled": "create"}.get(out[-1]["status"])
        for _ in range(50):
            if step is None:
                break
            if out[-1].get("wait_s"):
                self.advance(out[-1]["wait_s"])
            outcome = self.step(step, post_id, execution_id, out[-1])
            out.append(outcome)
            step = NEXT.get((step, outcome["status"]))
        if out[-1]["status"] == "failed" or (step is None and out[-1]["status"] not in TERMINAL):
            out.append(self.record_failure(post_id, execution_id, out[-1]))
        return out

    def record_failure(self, post_id: str, execution_id: str, outcome: Outcome | None = None,
                       error: dict[str, Any] | None = None) -> Outcome:
        """The RecordFailure (outcome) / RecordUnexpected (error) task, as the state machine calls it."""
        return workflow.fail(self.deps, post_id, dict(outcome) if outcome else None, error, execution_id)

    def step(self, step: str, post_id: str, execution_id: str, last: Outcome | None = None) -> Outcome:
        match step:
            case "create":
                return workflow.create(self.deps, post_id, execution_id)
            case "check":
                return workflow.check(self.deps, post_id, execution_id)
            case "publish":
                return workflow.publish(self.deps, post_id, execution_id)
            case "first_comment":
                return first_comment.run(self.deps, post_id)
        raise AssertionError(step)

    def media(self) -> list[dict[str, Any]]:
        with self.fake.app.store.lock:
            return [{"id": m.id, "caption": m.caption} for m in self.fake.app.store.media.values()]


TERMINAL = {"duplicate", "cancelled", "rescheduled", "commented"}
NEXT = {
    ("create", "finished"): "publish", ("create", "in_progress"): "check", ("create", "rate_limited"): "check",
    ("create", "retry_create"): "create", ("check", "finished"): "publish", ("check", "in_progress"): "check",
    ("check", "rate_limited"): "check", ("publish", "published"): "first_comment", ("publish", "not_ready"): "check",
    ("publish", "quota_full"): "publish", ("publish", "rate_limited"): "publish", ("publish", "verify"): "publish",
    ("publish", "recreate"): "create", ("first_comment", "retry_comment"): "first_comment",
}


@contextmanager
def world(fake: FakeInstagram, **settings: Any) -> Iterator[World]:
    fake.reset()
    app = fake.app
    with app.store.lock:
        user = next(iter(app.store.users.values()))
        tok = oauth.issue_token(app, "ig_long", user, 5_184_000, SCOPES, app.config.ig_app_id)
    cfg = Settings(instagram_app_id="igpub-local-app", graph_instagram_base=fake.url("graph.instagram.com", ""),
                   allow_http_media=True, publish_verify_delay_s=120, status_poll_interval_s=5,
                   **settings)
    client = InstagramClient(cfg, usage=InMemoryUsageGuard(), sleep=lambda _s: None)
    account = Account(account_id=user.user_id, username=user.username, token_issued_at=0,
                      token_expires_at=2_000_000_000, connected_at="t", updated_at="t", token_ciphertext=b"x")
    with tables("PostsTable") as t:
        posts = PostRepository("PostsTable", table=t["PostsTable"])
        clock = [app.now()]
        deps = workflow.Deps(settings=cfg, posts=posts, accounts=Accounts(account), cipher=Cipher(tok.token),  # type: ignore[arg-type]
                             client=client, media=None, clock=lambda: clock[0])  # type: ignore[arg-type]
        try:
            yield World(fake, posts, deps, user.user_id, clock)
        finally:
            client.close()


def dump(outcomes: list[Outcome]) -> str:
    return json.dumps(outcomes, default=str)
