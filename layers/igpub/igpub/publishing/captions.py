"""Caption rules and hashtag selection.

Instagram limits a caption to 2200 characters, 30 hashtags and 20 @-mentions
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media).
How Instagram counts is undocumented, so igpub makes conservative choices, all in this module:

* Length is counted in **UTF-16 code units** (``caption_length``): the Instagram apps' caption counters
  run on UTF-16 strings, and an emoji outside the Basic Multilingual Plane counts as 2. This never
  accepts a caption that a code-point count would reject.
* A hashtag is ``#`` followed by one or more word characters (Unicode aware: ``#café``, ``#東京``,
  ``#2024`` all count). **Every occurrence counts**, duplicates included (``#a #a`` is 2), because
  Instagram does not say it de-duplicates; over-counting can only make igpub stricter than Instagram.
* A mention is ``@`` followed by username characters (``A-Z a-z 0-9 . _``) and not preceded by a
  word character or a dot, so ``me@example.com`` is not a mention. Every occurrence counts.

``append_hashtags`` adds hashtags from a scored pool without breaking any of these limits.
"""

from __future__ import annotations

import re

CAPTION_MAX_CHARS = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20

_HASHTAG_RE = re.compile(r"#(\w+)")
_MENTION_RE = re.compile(r"(?<![\w.])@([A-Za-z0-9._]+)")
_TAG_RE = re.compile(r"\w+")

# How much a tag's score is kept when it was used ``i`` posts ago (0 = the previous post).
# 0.2, 0.6, 0.8, 0.9, 0.95 ... -> 1.0: the previous post's tags are strongly deprioritised.
_RECENT_PENALTY = 0.8

__all__ = [
    "CAPTION_MAX_CHARS",
    "MAX_HASHTAGS",
    "MAX_MENTIONS",
    "append_hashtags",
    "caption_length",
    "count_hashtags",
    "count_mentions",
    "find_hashtags",
]


def caption_length(text: str) -> int:
    """The length of ``text`` as igpub counts it against the 2200 limit: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def find_hashtags(text: str) -> list[str]:
    """Every hashtag occurrence in ``text``, without the ``#``, in order (duplicates kept)."""
    return _HASHTAG_RE.findall(text)


def count_hashtags(text: str) -> int:
    """Number of hashtag occurrences (``#`` + word characters, Unicode aware; duplicates count)."""
    return len(find_hashtags(text))


def count_mentions(text: str) -> int:
    """Number of @-mention occurrences (``@`` + username characters, not inside an e-mail address)."""
    return len(_MENTION_RE.findall(text))


def _normalise(tag: str) -> str:
    return tag.strip().lstrip("#")


def _join(caption: str, tags: list[str]) -> str:
    block = " ".join(f"#{t}" for t in tags)
    base = caption.rstrip()
    return f"{base}\n\n{block}" if base else block


def _select(order: list[str], names: dict[str, str], caption: str, slots: int) -> list[str]:
    """Greedily take keys in ``order`` while slots remain and the caption stays within the limit."""
    chosen: list[str] = []
    for key in order:
        if len(chosen) >= slots:
            break
        if caption_length(_join(caption, [names[k] for k in [*chosen, key]])) <= CAPTION_MAX_CHARS:
            chosen.append(key)
    return chosen


def append_hashtags(
    caption: str,
    pool: list[tuple[str, float]],
    count: int,
    recent: list[list[str]],
) -> tuple[str, list[str]]:
    """Append up to ``count`` hashtags chosen from a scored ``pool`` to ``caption``.

    * ``pool``: ``(tag, score)`` pairs; a tag may carry a leading ``#``; higher scores are preferred.
      Tags that are not a single run of word characters (``#foo-bar`` would only link ``foo``) are
      skipped, as are duplicates (case-insensitive; the first one wins). Negative or NaN scores count
      as 0.
    * ``recent``: the tags of the previous posts, **most recent first**. A tag used ``i`` posts ago
      keeps ``1 - 0.8 * 0.5**i`` of its score (0.2 for the previous post, 0.6 for the one before ...),
      and if the result would still be exactly the previous post's set, the lowest-ranked tag is
      swapped for the best remaining one, so consecutive posts never repeat the same set when the
      pool has an alternative.
    * The caption never ends up with more than 30 hashtag occurrences (the ones already in it count),
      a tag already in the caption is not added again (case-insensitive), and the caption stays within
      2200 characters (``caption_length``): a tag that does not fit is skipped and shorter ones are
      tried.

    The tags go after a blank line, space separated, each with ``#`` (no blank line when the caption is
    empty). Deterministic for given inputs (ties broken by the tag, case-insensitively). Returns the
    new caption (unchanged when nothing was added) and the tags added, without ``#``, in order.
    """
    slots = min(count, MAX_HASHTAGS - count_hashtags(caption))
    if slots <= 0:
        return caption, []

    present = {t.casefold() for t in find_hashtags(caption)}
    last_used: dict[str, int] = {}
    for age, post_tags in enumerate(recent):
        for tag in post_tags:
            last_used.setdefault(_normalise(tag).casefold(), age)

    names: dict[str, str] = {}
    scores: dict[str, float] = {}
    for raw, score in pool:
        tag = _normalise(raw)
        key = tag.casefold()
        if not _TAG_RE.fullmatch(tag) or key in present or key in names:
            continue
        names[key] = tag
        scores[key] = score if score > 0 else 0.0

    def rank(key: str) -> tuple[float, float, str]:
        score = scores[key]
        age = last_used.get(key)
        kept = 1.0 if age is None else 1.0 - _RECENT_PENALTY * 0.5**age
        return (-score * kept, -score, key)

    order = sorted(names, key=rank)
    chosen = _select(order, names, caption, slots)

    if recent and chosen:
        previous = {_normalise(t).casefold() for t in recent[0]}
        if set(chosen) == previous:
            demoted = chosen[-1]
            alternative = _select([k for k in order if k != demoted] + [demoted], names, caption, slots)
            if set(alternative) != previous:
                chosen = alternative

    if not chosen:
        return caption, []
    tags = [names[k] for k in chosen]
    return _join(caption, tags), tags
