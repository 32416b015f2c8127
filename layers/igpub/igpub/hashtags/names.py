"""Hashtag and pool names as igpub accepts them, and how the search budget compares hashtags."""

from __future__ import annotations

import re

TAG_RE = re.compile(r"\w{1,100}")
POOL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DEFAULT_POOL = "default"
MANUAL_SCORE = 50.0  # a hand-added tag's score when none is given (discovered scores run 0-100)


class InvalidInput(ValueError):
    """A tag or pool name igpub cannot use."""


def normalise_tag(raw: str) -> str:
    """``#Foo`` -> ``Foo``; refuses anything that is not one run of word characters (what Instagram links)."""
    tag = raw.strip().lstrip("#")
    if not TAG_RE.fullmatch(tag):
        raise InvalidInput(f"{raw!r} is not a hashtag: use letters, digits and _ only (no spaces, dashes or emoji)")
    return tag


def normalise_pool(raw: str) -> str:
    if not POOL_RE.fullmatch(raw):
        raise InvalidInput(f"{raw!r} is not a pool name: use 1-64 of A-Z a-z 0-9 _ . -")
    return raw


def budget_key(tag: str) -> str:
    """How the budget names a hashtag: Instagram's hashtags are case-insensitive."""
    return tag.lower()
