"""The progress lines of `igpub post` say nothing of a first comment a post does not have (issue 20)."""

from __future__ import annotations

import json
from typing import Any

from igpub_cli.api.posts import _describe


def exited(name: str, outcome: dict[str, Any]) -> dict[str, Any]:
    return {"type": "TaskStateExited",
            "stateExitedEventDetails": {"name": name, "output": json.dumps({"outcome": outcome})}}


def test_no_first_comment_no_line() -> None:
    assert _describe({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "FirstComment"}}) is None
    assert _describe(exited("FirstComment", {"status": "commented", "first_comment_status": "none"})) is None


def test_a_first_comment_says_how_it_went() -> None:
    line = _describe(exited("FirstComment", {"status": "commented", "first_comment_status": "posted"}))
    assert line == "-> FirstComment: posted"
    assert _describe({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Publish"}}) == "-> Publish"
    assert _describe(exited("Publish", {"status": "published"})) == "   Publish: published"
