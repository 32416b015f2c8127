"""What igpub writes on a person's behalf (comments, replies) and the reads' documented limits (account insights)
are checked before any Instagram call (issue 20), with the caption's rules."""

from __future__ import annotations

import pytest

from igpub.engage import insights
from igpub.engage.actions import DAY_TOTAL_METRICS, metric_problems, text_problems, window_problems

NOW = 1_800_000_000
DAY = 86400


@pytest.mark.parametrize(("text", "phrase"), [
    ("", "empty"), ("   ", "empty"), ("x" * 2201, "2201 characters"), ("#t " * 31, "31 hashtags"),
    (" ".join(f"@u{i}" for i in range(21)), "21 @-mentions"), ("\U0001f600" * 1101, "2202 characters"),
])
def test_texts_instagram_would_refuse(text: str, phrase: str) -> None:
    problems = text_problems(text, "the reply")
    assert problems and phrase in " ".join(problems) and problems[0].startswith("the reply")


@pytest.mark.parametrize("text", ["Thanks!", "x" * 2200, "#t " * 30, " ".join(f"@u{i}" for i in range(20))])
def test_texts_at_the_limits_pass(text: str) -> None:
    assert text_problems(text) == []


@pytest.mark.parametrize(("since", "until", "ok"), [
    (None, None, True), (NOW - 30 * DAY, NOW, True), (NOW - 30 * DAY - 1, NOW, False), (NOW - DAY, None, True),
    (NOW - 31 * DAY, None, False), (NOW, NOW, False), (NOW + 10, NOW - 10, False), (None, NOW + 3600, False),
])
def test_the_account_insights_window(since: int | None, until: int | None, ok: bool) -> None:
    assert (window_problems(since, until, now=NOW) == []) is ok


def test_account_metrics() -> None:
    assert set(insights.ACCOUNT_METRICS) <= set(DAY_TOTAL_METRICS)  # the default asks for nothing refused
    assert metric_problems(["reach", "views"]) == []
    assert "impressions" in metric_problems(["reach", "impressions"])[0]
    assert metric_problems(["follower_demographics"]) != []
