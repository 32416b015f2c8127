"""captions.append_hashtags and the caption counters (offline)."""

from __future__ import annotations

import itertools

import pytest

from igpub.publishing.captions import (
    CAPTION_MAX_CHARS,
    append_hashtags,
    caption_length,
    count_hashtags,
    find_hashtags,
)

POOL = [(f"tag{i:02d}", float(100 - i)) for i in range(40)]  # tag00 scores highest


def test_picks_the_best_scores_and_formats() -> None:
    caption, added = append_hashtags("Sunset at the beach.", POOL, 3, [])
    assert added == ["tag00", "tag01", "tag02"]
    assert caption == "Sunset at the beach.\n\n#tag00 #tag01 #tag02"


def test_empty_caption_gets_no_blank_line() -> None:
    assert append_hashtags("", POOL, 2, []) == ("#tag00 #tag01", ["tag00", "tag01"])


def test_trailing_whitespace_is_trimmed() -> None:
    assert append_hashtags("Hi!\n\n", POOL, 1, [])[0] == "Hi!\n\n#tag00"


def test_empty_pool_or_zero_count_leaves_caption_unchanged() -> None:
    assert append_hashtags("Hi  ", [], 10, []) == ("Hi  ", [])
    assert append_hashtags("Hi  ", POOL, 0, []) == ("Hi  ", [])
    assert append_hashtags("Hi", POOL, -3, []) == ("Hi", [])


def test_pool_tags_are_normalised_and_deduplicated() -> None:
    pool = [("#Travel", 5.0), ("travel", 9.0), ("new-york", 8.0), ("", 7.0), ("  #Café ", 1.0), ("x y", 6.0)]
    caption, added = append_hashtags("", pool, 10, [])
    assert added == ["Travel", "Café"]
    assert caption == "#Travel #Café"


def test_tags_already_in_the_caption_are_not_repeated() -> None:
    caption, added = append_hashtags("Loving it #TAG00 and #tag02", POOL, 3, [])
    assert added == ["tag01", "tag03", "tag04"]
    assert caption.endswith("\n\n#tag01 #tag03 #tag04")


def test_never_more_than_30_hashtags() -> None:
    existing = " ".join(f"#own{i}" for i in range(25))
    caption, added = append_hashtags(existing, POOL, 30, [])
    assert len(added) == 5
    assert count_hashtags(caption) == 30


def test_existing_duplicates_count_towards_30() -> None:
    existing = "#a " * 30
    assert append_hashtags(existing, POOL, 5, []) == (existing, [])
    assert append_hashtags("#a " * 29, POOL, 5, [])[1] == ["tag00"]


def test_count_capped_at_30() -> None:
    _, added = append_hashtags("", POOL, 40, [])
    assert len(added) == 30


def test_stays_within_2200_and_tries_shorter_tags() -> None:
    pool = [("averyveryverylonghashtag", 10.0), ("short", 5.0), ("ok", 1.0)]
    caption = "x" * (CAPTION_MAX_CHARS - 2 - len("#short #ok"))
    new, added = append_hashtags(caption, pool, 3, [])
    assert added == ["short", "ok"]
    assert caption_length(new) == CAPTION_MAX_CHARS


def test_full_caption_gets_nothing() -> None:
    caption = "x" * CAPTION_MAX_CHARS
    assert append_hashtags(caption, POOL, 5, []) == (caption, [])
    too_long = "x" * (CAPTION_MAX_CHARS + 10)
    assert append_hashtags(too_long, POOL, 5, []) == (too_long, [])


def test_length_counts_utf16_units() -> None:
    assert caption_length("😀") == 2
    assert caption_length("é東") == 2
    caption = "😀" * ((CAPTION_MAX_CHARS - 8) // 2)  # 2192 units, room for "\n\n#abcde" (8)
    new, added = append_hashtags(caption, [("abcdef", 2.0), ("abcde", 1.0)], 2, [])
    assert added == ["abcde"]
    assert caption_length(new) == CAPTION_MAX_CHARS


def test_rotation_across_consecutive_posts() -> None:
    pool = [(f"t{i}", float(20 - i)) for i in range(20)]
    history: list[list[str]] = []
    sets = []
    for _ in range(6):
        _, added = append_hashtags("post", pool, 5, history)
        sets.append(set(added))
        history.insert(0, added)  # most recent first
    for before, after in itertools.pairwise(sets):
        assert before != after
        assert not before & after  # with a pool this big, no tag repeats in the next post
    assert sets[0] == {"t0", "t1", "t2", "t3", "t4"}
    # High scores come back: the top tag returns once it is no longer among the last posts.
    assert any("t0" in s for s in sets[1:])


def test_rotation_changes_the_set_even_with_a_tiny_pool() -> None:
    pool = [("a", 100.0), ("b", 90.0), ("c", 1.0)]
    _, first = append_hashtags("", pool, 2, [])
    _, second = append_hashtags("", pool, 2, [first])
    assert first == ["a", "b"]
    assert set(second) != set(first)
    # With no alternative at all, the same set is all there is.
    assert set(append_hashtags("", pool[:2], 2, [first])[1]) == {"a", "b"}


def test_recent_tags_compare_case_insensitively() -> None:
    pool = [("Dogs", 10.0), ("cats", 9.0), ("birds", 1.0)]
    _, added = append_hashtags("", pool, 1, [["#DOGS"]])
    assert added == ["cats"]


def test_deterministic() -> None:
    pool = [("b", 1.0), ("a", 1.0), ("c", 1.0), ("d", float("nan")), ("e", -5.0)]
    runs = {tuple(append_hashtags("x", pool, 4, [["a"]])[1]) for _ in range(5)}
    assert runs == {("b", "c", "a", "d")}


@pytest.mark.parametrize(
    ("text", "tags"),
    [("#a b #C_d #é1", ["a", "C_d", "é1"]), ("x#y", ["y"]), ("#", [])],
)
def test_find_hashtags(text: str, tags: list[str]) -> None:
    assert find_hashtags(text) == tags
