"""The publisher handler's own composition (issue 24): CheckContainers polls inside the task for a bounded
time, CreateContainers/CheckContainers publish in the same invocation once FINISHED, and the outcome
events are best effort. The library steps are replaced by recording fakes; the clock is the test's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("IGPUB_INSTAGRAM_APP_ID", "test-app")
    monkeypatch.setenv("IGPUB_STATUS_POLL_IN_TASK_S", "20")
    from igpub.config import get_settings

    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location("handler_publisher_in_task", ROOT / "functions/publisher/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    get_settings.cache_clear()


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def _wire(app: ModuleType, monkeypatch: pytest.MonkeyPatch, statuses: list[str]) -> tuple[Clock, list[str]]:
    clock, calls = Clock(), []
    monkeypatch.setattr(app.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(app.time, "sleep", clock.sleep)

    def check(deps: Any, post_id: str, execution_id: str) -> dict[str, Any]:
        calls.append("check")
        st = statuses.pop(0)
        return {"status": st, "wait_s": 5} if st == "in_progress" else {"status": st}

    def publish(deps: Any, post_id: str, execution_id: str) -> dict[str, Any]:
        calls.append("publish")
        return {"status": "published", "account_id": "a", "kind": "image", "media_id": "m", "permalink": "p"}

    monkeypatch.setattr(app.workflow, "check", check)
    monkeypatch.setattr(app.workflow, "publish", publish)
    return clock, calls


def _event(app: ModuleType, step: str) -> Any:
    return app.TaskEvent(step=step, post_id="p1", execution_id="e1")


def test_check_polls_inside_the_task_then_publishes(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    clock, calls = _wire(app, monkeypatch, ["in_progress", "in_progress", "finished"])
    out = app._run(None, _event(app, "check"))
    assert out["status"] == "published"
    assert calls == ["check", "check", "check", "publish"]
    assert clock.sleeps == [5, 5]


def test_check_hands_back_to_the_wait_state_within_its_budget(app: ModuleType,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock, calls = _wire(app, monkeypatch, ["in_progress"] * 10)
    out = app._run(None, _event(app, "check"))
    assert out == {"status": "in_progress", "wait_s": 5}
    assert calls == ["check"] * 5  # at 0, 5, 10, 15, 20 s: the next one would pass the 20 s budget
    assert sum(clock.sleeps) <= 20


def test_no_in_task_polling_when_the_budget_is_zero(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGPUB_STATUS_POLL_IN_TASK_S", "0")
    app.get_settings.cache_clear()
    clock, calls = _wire(app, monkeypatch, ["in_progress"] * 3)
    assert app._run(None, _event(app, "check"))["status"] == "in_progress"
    assert calls == ["check"] and clock.sleeps == []


def test_other_answers_are_returned_as_they_are(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    _, calls = _wire(app, monkeypatch, ["rate_limited"])
    assert app._run(None, _event(app, "check"))["status"] == "rate_limited"
    assert calls == ["check"]


def test_an_event_that_cannot_be_sent_never_changes_the_outcome(app: ModuleType,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    class Broken:
        def post_outcome(self, detail_type: str, detail: dict[str, Any]) -> None:
            sent.append((detail_type, detail))
            raise RuntimeError("EventBridge is down")

    monkeypatch.setattr(app, "_events", lambda: Broken())
    outcome = {"status": "published", "account_id": "a", "kind": "image", "media_id": "m", "permalink": "p"}
    app._announce(_event(app, "create"), outcome)  # raises nothing
    assert sent and sent[0][0] == "igpub.PostPublished" and sent[0][1]["permalink"] == "p"
    sent.clear()
    app._announce(_event(app, "fail"), {"status": "failed", "reason": "r", "code": "c", "account_id": "a",
                                        "kind": "image"})
    assert sent[0][0] == "igpub.PostFailed" and sent[0][1]["reason"] == "r"
    sent.clear()
    app._announce(_event(app, "fail"), {"status": "published"})  # nothing to fail: no event
    app._announce(_event(app, "check"), {"status": "in_progress", "wait_s": 5})
    assert sent == []


def test_a_rate_limited_inline_publish_waits_for_the_publish_state(app: ModuleType,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _wire(app, monkeypatch, ["finished"])
    monkeypatch.setattr(app.workflow, "publish", lambda *a: {"status": "rate_limited", "wait_s": 60})
    assert app._run(None, _event(app, "check")) == {"status": "publish_rate_limited", "wait_s": 60}
