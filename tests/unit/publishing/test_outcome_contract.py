"""The state machine and its tasks agree on the outcome statuses (igpub.publishing.outcome)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from igpub.publishing.outcome import STEP_STATUSES, Status

ASL = Path(__file__).resolve().parents[3] / "statemachine" / "publish.asl.json"
STATES: dict[str, dict[str, Any]] = json.loads(ASL.read_text())["States"]


def _status_rules(choice: dict[str, Any]) -> list[dict[str, Any]]:
    rules = [r for r in choice["Choices"] if r.get("Variable") == "$.outcome.status"]
    assert len(rules) == len(choice["Choices"]), "every rule of an outcome Choice reads $.outcome.status"
    return rules


def _task_steps() -> list[tuple[str, str, dict[str, Any]]]:
    """(task state name, step, the state it hands its outcome to)."""
    out = []
    for name, state in STATES.items():
        step = state.get("Parameters", {}).get("step") if state["Type"] == "Task" else None
        if step:
            out.append((name, step, STATES[state["Next"]]))
    return out


def test_every_choice_compares_a_known_status() -> None:
    choices = {n: s for n, s in STATES.items() if s["Type"] == "Choice"}
    assert choices
    known = {s.value for s in Status}
    for name, choice in choices.items():
        for rule in _status_rules(choice):
            assert rule["StringEquals"] in known, f"{name} compares {rule['StringEquals']!r}, which Status lacks"


@pytest.mark.parametrize("name,step,after", _task_steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_status_a_task_returns_is_routed(name: str, step: str, after: dict[str, Any]) -> None:
    returns = STEP_STATUSES[step]  # type: ignore[index]
    routed = {r["StringEquals"] for r in _status_rules(after)}
    if step == "fail":  # FAILED (the Default) ends failed (the fail task itself sent igpub.PostFailed, as
        # tests/e2e/test_events_e2e.py sees on the stack); the rest end quietly
        assert STATES[after["Default"]]["Type"] == "Fail"
        assert routed == {s.value for s in returns - {Status.FAILED}}
        for rule in _status_rules(after):
            assert STATES[rule["Next"]]["Type"] == "Succeed", f"{name}: {rule['StringEquals']} ends the execution"
        return
    for status in returns - {Status.FAILED}:
        assert status.value in routed, f"{name} can return {status!r}, which the next Choice routes nowhere"
    assert after["Default"] == "RecordFailure", "failed outcomes go to the Choice's Default"
    assert Status.FAILED not in routed


def test_a_published_post_enters_the_first_comment_states_only_with_a_first_comment() -> None:
    for name, state in STATES.items():
        if state["Type"] != "Choice":
            continue
        for rule in _status_rules(state):
            if rule["StringEquals"] == Status.PUBLISHED:
                assert STATES[rule["Next"]]["Type"] == "Succeed", f"{name}: published without a comment ends"
            if rule["StringEquals"] == Status.PUBLISHED_COMMENT:
                assert STATES[rule["Next"]].get("Parameters", {}).get("step") == "first_comment", name


def test_every_choice_routes_only_what_its_tasks_return() -> None:
    for choice_name, choice in STATES.items():
        if choice["Type"] != "Choice":
            continue
        feeders = [step for _, step, after in _task_steps() if after is choice]
        assert feeders, f"{choice_name} reads an outcome no task hands it"
        returned = {s.value for step in feeders for s in STEP_STATUSES[step]}  # type: ignore[index]
        routed = {r["StringEquals"] for r in _status_rules(choice)}
        assert routed <= returned, f"{choice_name} routes {routed - returned}, which its tasks never return"


def test_every_step_and_status_is_accounted_for() -> None:
    steps = {step for _, step, _ in _task_steps()}
    assert steps == set(STEP_STATUSES)
    assert set().union(*STEP_STATUSES.values()) == set(Status)
